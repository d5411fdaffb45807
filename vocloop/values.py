"""The sets of values that models, rules, services, pages and the API all name, defined once here at
the bottom of the import graph (this module imports nothing of vocloop), so a new priority or status
cannot reach the database constraint but miss the filter, the form or the OpenAPI enum; and the one
rounding of a rate, which every figure of a share goes through."""

PRIORITIES = ("P1", "P2", "P3", "P4")  # P1 is the most urgent
SENTIMENTS = ("negative", "neutral", "positive")  # what the classifier (or a person's correction) says
BANDS = ("negative", "neutral", "positive")  # where a score falls on its scale: detractor, passive, promoter
ITEM_STATUSES = ("open", "in_progress", "waiting", "closed")
OPEN_STATUSES = ("open", "in_progress", "waiting")  # the loop is still open: someone owes the customer


def share(part: int, whole: int) -> float | None:
    """A rate rounded once, to what every page shows (a tenth of a percent), so the API, the CSVs, the digest
    and each page give the same figure and no page rounds it again (four decimals here and one of a percent
    on the page read 1 of 26, 3.846 %, as "3.9%"). None when there is nothing to take a share of."""
    return None if not whole else round(part / whole, 3)
