"""The install's own model (issue #21): `retrain` learns from the shipped model plus every correction,
prints and stores its cross-validated macro-F1 before and after, is used only when better, can be
restored, and every answer records the model version that labelled it."""

import json
import random

from sqlalchemy import select

from tests.factories import answer, make_contact, make_invitation, make_survey, make_user
from vocloop.classify import learning
from vocloop.classify.models import ClassifierModel
from vocloop.classify.sentiment_model import shipped_model
from vocloop.classify.training.adapt import Measure
from vocloop.extensions import db
from vocloop.responses.models import Response

# An airline's comments: words the shipped model (product reviews) reads wrongly or not at all.
NEGATIVE = ["Flight {n} was diverted and my bag went to {city}", "Gate change at the last minute, missed flight {n}",
            "Bumped off flight {n} to {city}, seat given away", "Flight {n} diverted to {city}, bag still missing"]
POSITIVE = ["Upgraded on flight {n} to {city}, lovely crew", "Flight {n} landed early in {city}, smooth landing",
            "Lie-flat seat on flight {n} to {city}, slept all the way", "Upgraded at the gate for flight {n}"]
NEUTRAL = ["Flight {n} to {city} departs from gate {g}", "I flew flight {n} to {city} on a Tuesday",
           "Flight {n} boards at gate {g} for {city}", "Booked flight {n} to {city} via the app"]
CITIES = ["Oslo", "Lima", "Perth", "Accra", "Quito", "Riga", "Hanoi", "Porto"]


def airline_csv(path, count=150, seed=3):
    rng = random.Random(seed)
    lines = ["text,label"]
    for i in range(count):
        label, templates = [("negative", NEGATIVE), ("positive", POSITIVE), ("neutral", NEUTRAL)][i % 3]
        text = rng.choice(templates).format(n=100 + i, city=rng.choice(CITIES), g=f"{rng.choice('ABCD')}{i % 40}")
        lines.append(f'"{text}",{label}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def classify_one(client, drain, comment, email):
    answer(client, make_invitation(make_survey(), make_contact(email)), 7, comment)
    drain()
    return db.session.scalar(select(Response).order_by(Response.id.desc()))


def test_retrain_learns_the_teams_labels_is_used_when_better_and_can_be_restored(app, client, drain, tmp_path):
    make_user("admin@example.com", role="admin")
    runner = app.test_cli_runner()
    few = runner.invoke(args=["retrain"])
    assert few.exit_code != 0 and "needs at least 30 labelled comments" in few.output
    assert runner.invoke(args=["corrections", "import", str(airline_csv(tmp_path / "a.csv"))]).exit_code == 0
    result = runner.invoke(args=["retrain"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["corrections"] == 150 and figures["folds"] == 5 and figures["before"] == shipped_model().version
    assert figures["macro_f1_after"] > figures["macro_f1_before"] + 0.1 and figures["better"]
    assert f"macro-F1 before  {figures['macro_f1_before']:.4f}" in result.output
    model = db.session.scalar(select(ClassifierModel))
    assert model.in_use and model.version == figures["trained"] == figures["in_use"]
    assert (round(model.f1_before, 4), round(model.f1_after, 4)) == (figures["macro_f1_before"],
                                                                    figures["macro_f1_after"])
    # New answers are labelled by the model in use, and say so.
    response = classify_one(client, drain, "Flight 990 was diverted to Lima and my bag is gone", "n1@c.example")
    assert response.classifier == model.version and response.sentiment_label == "negative"
    # Back to the shipped model, which labels (and is recorded on) the next answer.
    restored = runner.invoke(args=["retrain", "--restore"])
    assert f"restored: {shipped_model().version} is the model in use" in restored.output
    response = classify_one(client, drain, "Flight 991 was diverted to Oslo", "n2@c.example")
    assert response.classifier == shipped_model().version
    assert "nothing to restore" in runner.invoke(args=["retrain", "--restore"]).output


def test_a_retrained_model_that_is_not_better_is_kept_on_record_but_not_used(app, tmp_path, monkeypatch):
    runner = app.test_cli_runner()
    runner.invoke(args=["corrections", "import", str(airline_csv(tmp_path / "a.csv", count=60))])
    monkeypatch.setattr(learning, "cross_validate", lambda *a, **k: Measure(before=0.7, after=0.6, folds=5))
    result = runner.invoke(args=["retrain"])
    assert "kept             vocloop-sentiment-1: the retrained model is not better" in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["better"] is False
    model = db.session.scalar(select(ClassifierModel))
    assert not model.in_use and (model.f1_before, model.f1_after) == (0.7, 0.6)
    assert learning.in_use() is None
