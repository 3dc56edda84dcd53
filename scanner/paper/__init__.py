"""Paper execution: trade opportunity events against the live books, on paper, with an SQLite ledger."""
from .executor import PaperTrader
from .ledger import LedgerError
from .report import report

__all__ = ["LedgerError", "PaperTrader", "report"]
