"""Sphinx configuration of the static book (`make book`): the notebooks with their stored outputs.

Nothing is executed (nb_execution_mode = "off"): the pages show exactly what the committed
notebooks hold, including saved widget state. Every script the pages load is served from the
build (require.js, the Jupyter widgets HTML manager, MathJax, and a small local renderer for
anywidget widgets), so the build and the site need no network. selfattn.tools.build_book copies
this folder and the notebooks into build/book-src/ and runs Sphinx there.
"""
project = "selfattn: self-attention from first principles"
author = "the selfattn authors"
copyright = "2026, the selfattn authors"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]

nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# No CDN anywhere: scripts from _static/vendor (see _static/vendor/README.md).
mathjax_path = "vendor/mathjax/tex-chtml.js"
nb_ipywidgets_js = {
    "vendor/requirejs/require.js": {},
    "name_sliders.js": {},  # copied from selfattn/widgets/static/ by selfattn.tools.build_book
    "widgets-static.js": {},
    "vendor/html-manager/embed-amd.js": {"data-jupyter-widgets-cdn": "_static/vendor/missing-widget-module/"},
}

html_theme = "sphinx_book_theme"
html_title = "selfattn"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
}
html_favicon = "_static/favicon.png"
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_copy_source = True        # the download button offers the chapter notebook itself
html_sourcelink_suffix = ""
suppress_warnings = ["mystnb.unknown_mime_type"]
