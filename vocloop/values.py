"""The sets of values that models, rules, services, pages and the API all name, defined once here at
the bottom of the import graph (this module imports nothing of vocloop), so a new priority or status
cannot reach the database constraint but miss the filter, the form or the OpenAPI enum."""

PRIORITIES = ("P1", "P2", "P3", "P4")  # P1 is the most urgent
SENTIMENTS = ("negative", "neutral", "positive")  # what the classifier (or a person's correction) says
BANDS = ("negative", "neutral", "positive")  # where a score falls on its scale: detractor, passive, promoter
ITEM_STATUSES = ("open", "in_progress", "waiting", "closed")
OPEN_STATUSES = ("open", "in_progress", "waiting")  # the loop is still open: someone owes the customer
