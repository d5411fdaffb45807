"""Theme discovery (issue #21): comments grouped by what they are about, not by how the customer felt."""

import json

from vocloop import create_app
from vocloop.themes.discover import discover, subject_terms


def test_feeling_words_and_function_words_are_not_what_a_theme_is_about():
    assert subject_terms("The waiters were great but the dishes were awful") == ["waiter", "dish"]
    assert subject_terms("Not bad at all, really good!") == []


def test_comments_about_the_same_thing_share_a_theme_named_by_its_key_phrase():
    texts = ["The waiter was rude", "Our waiter forgot the order", "A lovely waiter", "", "ok thanks",
             "Prices too high", "High prices, small portions", "prices went up again"] * 2
    themes, assignment = discover(texts, max_themes=2)
    names = [themes[a].name if a is not None else None for a in assignment]
    assert names[:8] == ["waiter", "waiter", "waiter", None, None, "price", "price", "price"]
    assert discover(texts, max_themes=2)[1] == assignment  # the same input, the same themes


def test_the_themes_command_prints_one_json_object_per_input_line_in_order(tmp_path):
    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    lines = "The waiter was rude\n\nOur waiter forgot us\nPrices too high\nhigh prices\nwaiter again\nprices!\n"
    result = app.test_cli_runner().invoke(args=["themes", "--max", "2"], input=lines)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 7 and [o["theme"] for o in out] == ["waiter", None, "waiter", "price", "price", "waiter",
                                                          "price"]
    assert out[0]["key_phrases"][0] == "waiter"


def test_words_said_in_the_same_way_share_a_theme_though_never_in_the_same_comment():
    texts = ["The waiter was rude and slow", "Our server was rude and slow", "A friendly attentive waiter",
             "The server was friendly and attentive", "The pasta was fresh and delicious",
             "Fresh, delicious pizza", "The pizza was cold and salty", "Cold salty pasta again"] * 2
    themes, assignment = discover(texts, max_themes=2)
    staff, dishes = {assignment[i] for i in range(4)}, {assignment[i] for i in range(4, 8)}
    assert len(staff) == 1 and len(dishes) == 1 and staff != dishes
    assert assignment[8:] == assignment[:8]
