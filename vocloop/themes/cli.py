"""`flask --app vocloop themes`: themes of comments read from standard input, for evaluation and scripts."""

from __future__ import annotations

import json

import click


@click.command("themes")
@click.option("--max", "max_themes", type=click.IntRange(1, 100), default=8, show_default=True,
              help="At most this many themes.")
def themes(max_themes):
    """Read comments, one per line, from standard input; print one JSON object per input line, in order:
    `theme` (its name, or null when the comment belongs to none) and the theme's `key_phrases`."""
    from vocloop.themes.discover import discover

    with click.open_file("-", encoding="utf-8", errors="replace") as stdin:
        lines = [line.rstrip("\r\n") for line in stdin]
    found, assignment = discover(lines, max_themes=max_themes)
    for index in assignment:
        theme = found[index] if index is not None else None
        click.echo(json.dumps({"theme": theme.name if theme else None,
                               "key_phrases": theme.key_phrases if theme else []}, ensure_ascii=False))
