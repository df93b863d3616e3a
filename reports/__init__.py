"""lossconf reports: the results-file schema, the HTML report, diffs and summaries.

Reads plain data only (results files); never imports ``reference``, ``adapters`` or ``cases``.
Command line: ``python -m reports --help``.
"""

from .schema import SCHEMA, Results, ResultsError, ResultsWriter, load

__all__ = ["SCHEMA", "Results", "ResultsError", "ResultsWriter", "load"]
