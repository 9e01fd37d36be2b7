"""The plain computations behind the book's widgets and demonstrations, one module per topic.

Math layer: numpy and torch only. Widgets in selfattn.widgets call these; tests test these.
"""
