"""LaTeX maths without a CDN: nbgrader's feedback page loads MathJax from cdnjs, which a student
offline (or behind a strict proxy) never gets, so the page shows raw ``$\\sqrt{2/n}$``.

`render_page_maths` draws each ``$...$`` and ``$$...$$`` of the page's markdown cells with
matplotlib's mathtext, as an inline SVG image (its TeX source as the image's alt text, so it can
be copied and read by a screen reader), and removes the MathJax loader. `plain` writes short
formulas as Unicode text, for the report's own tables (question titles).
"""
from __future__ import annotations

import base64
import functools
import html
import io
import re

# nbconvert's markdown cells; their math stays as $...$ text for MathJax to find.
_MARKDOWN_CELL = re.compile(r'(<div class="text_cell_render[^"]*">)(.*?)(</div>)', re.S)
_CODE = re.compile(r"(<code.*?</code>|<pre.*?</pre>)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$<>]+?)(?<![\s\\])\$(?!\d)")
_MATHJAX = re.compile(r"<!-- Loading mathjax macro -->.*?<!-- End of mathjax configuration -->\s*", re.S)
_MATHJAX_SCRIPT = re.compile(r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*>\s*</script>\s*', re.I)

# What mathtext lacks of the TeX the notebooks use, said in what it has.
_MATHTEXT_SPELLING = [(r"\ge ", r"\geq "), (r"\le ", r"\leq "), (r"\Big", ""), (r"\big", ""), (r"\#", r"\sharp"),
                      (r"\left\{", r"\{"), (r"\right\}", r"\}"), (r"\_", r"\_")]
_BOUNDARY = re.compile(r"\\(ge|le)(?![a-zA-Z])")
_TEXT = re.compile(r"\\text\{([^{}]*)\}")


def _mathtext_source(tex: str) -> str:
    tex = " ".join(html.unescape(tex).split())
    tex = _BOUNDARY.sub(lambda m: "\\" + m.group(1) + "q", tex)
    tex = _TEXT.sub(lambda m: r"\mathrm{" + m.group(1).replace(" ", r"\ ") + "}", tex)
    for old, new in _MATHTEXT_SPELLING:
        tex = tex.replace(old, new)
    return f"${tex}$"


@functools.lru_cache(maxsize=2048)
def svg_image(tex: str, display: bool = False) -> str:
    """`tex` as an <img> of an SVG drawn by mathtext, set on the text's baseline; its TeX as alt text.
    A formula mathtext cannot draw is shown as its TeX source, in a code span."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser, math_to_image

    source, size = _mathtext_source(tex), 11.0 if not display else 12.0
    alt = html.escape(" ".join(html.unescape(tex).split()), quote=True)
    buffer = io.BytesIO()
    try:
        with matplotlib.rc_context({"svg.fonttype": "path", "mathtext.fontset": "cm", "svg.hashsalt": "maths"}):
            depth = MathTextParser("path").parse(source, dpi=72, prop=FontProperties(size=size)).depth
            math_to_image(source, buffer, prop=FontProperties(size=size), dpi=72, format="svg")
    except ValueError:
        return f'<code class="tex">{alt}</code>'
    svg = buffer.getvalue().decode()
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)
    svg = re.sub(r'<g id="patch_1">.*?</g>', "", svg, count=1, flags=re.S)   # the white background
    data = base64.b64encode(svg.encode()).decode()
    style = f"vertical-align:-{depth:.1f}pt;max-width:100%" if not display else "max-width:100%"
    image = f'<img class="math" alt="{alt}" title="{alt}" style="{style}" src="data:image/svg+xml;base64,{data}">'
    return f'<span class="math-display" style="display:block;text-align:center;margin:.5em 0">{image}</span>' \
        if display else image


def _render_text(text: str) -> str:
    text = _DISPLAY.sub(lambda m: svg_image(m.group(1), True), text)
    return _INLINE.sub(lambda m: svg_image(m.group(1)), text)


def _render_cell(match: re.Match) -> str:
    pieces = _CODE.split(match.group(2))     # never inside code: `$MNIST_ROOT` is not maths
    body = "".join(p if i % 2 else _render_text(p) for i, p in enumerate(pieces))
    return match.group(1) + body + match.group(3)


def render_page_maths(page: str) -> str:
    """nbgrader's feedback page with its markdown maths drawn in place and no MathJax loaded."""
    page = _MATHJAX.sub("", page)
    page = _MATHJAX_SCRIPT.sub("", page)
    return _MARKDOWN_CELL.sub(_render_cell, page)


# --- plain Unicode, for short formulas in the report's text ------------------------------------

_SYMBOLS = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
            "lambda": "λ", "mu": "μ", "sigma": "σ", "sum": "∑", "sqrt": "√", "top": "ᵀ", "cdot": "·", "times": "×",
            "in": "∈", "sim": "∼", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "approx": "≈", "to": "→",
            "ln": "ln", "log": "log", "infty": "∞", "quad": " ", "qquad": "  "}
_SCRIPT = str.maketrans("0123456789+-=()nikmT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵏᵐᵀ")
_SUBSCRIPT = str.maketrans("0123456789+-=()ikmn", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ᵢₖₘₙ")


def plain(tex: str) -> str:
    """A short TeX formula as Unicode text (2/n, σ², ℒ₂, γ); what it cannot spell stays as written."""
    text = re.sub(r"\\sqrt\{([^{}]*)\}", r"√(\1)", tex)
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", text)
    text = re.sub(r"\\mathcal\{L\}", "ℒ", text)
    text = re.sub(r"\\(?:mathrm|text|mathbf|operatorname)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\([{}%#_ ,;!])", lambda m: m.group(1).strip(",;!") or " ", text)
    text = re.sub(r"\\([a-zA-Z]+)", lambda m: _SYMBOLS.get(m.group(1), m.group(0)), text)
    text = re.sub(r"\^\{([^{}]*)\}|\^(\w)", lambda m: _scripted(m.group(1) or m.group(2), _SCRIPT, "^"), text)
    text = re.sub(r"_\{([^{}]*)\}|_(\w)", lambda m: _scripted(m.group(1) or m.group(2), _SUBSCRIPT, "_"), text)
    return " ".join(text.split())


def _scripted(text: str, table: dict, mark: str) -> str:
    converted = text.translate(table)
    # a character without a super/subscript form keeps the whole script readable as ^(...) / _(...)
    return converted if all(ord(c) > 127 or c == " " for c in converted) else f"{mark}({text})"
