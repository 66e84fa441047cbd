"""The dashboards: the first page after login (``home``), a programme's dashboard with its
funnel, money, review progress and deadlines (``programme``), and the officers' proposal list
as a spreadsheet (``exports``). They sit above selection, whose decisions they count."""

from competition.dashboard import exports, programme  # noqa: F401  (their routes on bp)
from competition.dashboard.home import bp

__all__ = ["bp"]
