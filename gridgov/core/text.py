"""The one canonical form of a typed code (ID number, credit code, phone, grid code).

People type codes on Chinese keyboards and paste them from documents: full-width digits
(１２３), the ideographic space, a lower-case x. Every validator folds those to ASCII before
it checks anything, and refuses whatever is still not ASCII: Arabic-Indic or superscript
digits pass `str.isdigit()` but are no code's characters, and a code stored in two forms
would give two lookup hashes, which is how a duplicate slips past the duplicate check.
"""

# U+FF01..U+FF5E are the full-width twins of ASCII 0x21..0x7E; U+3000 is the ideographic space.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_width(value: str | None) -> str:
    """Full-width characters to their ASCII twins; nothing else changes."""
    return (value or "").translate(_FULL_WIDTH)


def fold_code(value: str | None) -> str:
    """Full-width to ASCII, every kind of whitespace removed, letters upper-cased."""
    return "".join(fold_width(value).split()).upper()


def is_digits(value: str) -> bool:
    """ASCII digits only (str.isdigit() alone also accepts '²' and '٣')."""
    return value.isascii() and value.isdigit()


_BIGINT_MAX = 2**63 - 1


def to_int(value) -> int | None:
    """A whole number typed into a form or a query string, or None when it is not one (or too
    large for any database column: SQLite raises OverflowError on such a parameter)."""
    text = str(value).strip() if value is not None else ""
    if not is_digits(text):
        return None
    number = int(text)
    return number if number <= _BIGINT_MAX else None
