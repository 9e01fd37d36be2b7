"""Chapter 8's computations: what attention costs, in three modules with one job each.

- `formulas`: flops counted exactly and bytes of score matrices and key/value caches
  (a flop is one multiply or add, so one multiply-add is 2 flops), model shapes, the
  context-length explorer's numbers;
- `measure`: what torch really executes, holds and takes on this machine (flop counter,
  tensor memory, kernel scratch seen by the profiler, timings, log-log fits);
- `spread`: attention spread thin (weights and entropy, in bits, as the number of keys grows).

Math layer: numpy and torch only.
"""
from .formulas import (GQA, MHA, MODEL_SHAPES, MQA, ModelShape, attention_flops, attention_matrix_bytes, bytes_per_element,
                       context_curves, context_report, decode_step_flops, generation_flops, human_bytes, human_flops,
                       kv_cache_bytes, mha_flops, projection_flops)
from .measure import (METHODS, DecodeCost, LogLogFit, ScalingRun, TensorMemory, count_flops, fused_attention,
                      kernel_scratch, loglog_fit, loglog_slope, measure_decode_cost, measure_scaling, naive_attention,
                      tensor_memory, time_fn)
from .spread import (SpreadThin, entropy_bits, expected_needle_weight, limit_entropy_bits, margin_needed,
                     needle_rows, spread_thin)

__all__ = [name for name in dir() if not name.startswith("_") and name not in ("formulas", "measure", "spread")]
