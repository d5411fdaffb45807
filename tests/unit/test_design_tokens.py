"""The staff pages' design system: one stylesheet whose colours, spaces, type sizes and corners all come
from the tokens at its top, so a change of scale or palette is one edit and no page drifts from it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STYLESHEET = ROOT / "vocloop" / "static" / "app.css"
SPACING = re.compile(r"^(margin|padding)(-(top|right|bottom|left))?$|^(row-|column-)?gap$")
SIZED = re.compile(r"^(font-size|border-radius|border(-(top|right|bottom|left))?-radius)$")


def rules(css: str):
    """(selector, property, value) for every declaration outside the :root block of tokens."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        selector = selector.strip().split("{")[-1].strip()
        for declaration in body.split(";"):
            if ":" in declaration:
                prop, value = (part.strip() for part in declaration.split(":", 1))
                yield selector, prop, value


def tokens(css: str) -> set[str]:
    root = re.search(r":root\s*\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S)).group(1)
    return set(re.findall(r"(--[a-z0-9-]+)\s*:", root))


def test_every_space_size_corner_and_colour_comes_from_a_token():
    css = STYLESHEET.read_text()
    raw = []
    for selector, prop, value in rules(css):
        if selector == ":root":
            continue
        if (SPACING.match(prop) or SIZED.match(prop)) and re.search(r"\b[1-9]\d*px\b", value):
            raw.append(f"{selector} {{ {prop}:{value} }}")
        if re.search(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(", value):
            raw.append(f"{selector} {{ {prop}:{value} }}")
    assert raw == [], "raw values instead of tokens:\n" + "\n".join(raw)


def test_every_token_used_is_defined():
    css = STYLESHEET.read_text()
    used = set(re.findall(r"var\((--[a-z0-9-]+)", css))
    assert used - tokens(css) == set()


def test_staff_templates_carry_no_inline_styles():
    """Inline styles escape the tokens (the customer pages pass only their brand colour and scale length)."""
    customer = {"public.html", "answers", "email"}
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "templates").rglob("*.html")
                 if not customer & set(path.relative_to(ROOT / "templates").parts)
                 and re.search(r"\sstyle=", path.read_text())]
    assert offenders == []
