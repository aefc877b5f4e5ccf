"""Input in and results out: workbooks read into work items (grouped by a bot's own Python), money and
dates parsed strictly, the results workbook written beside the input."""
