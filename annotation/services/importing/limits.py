"""What one import may cost: the caps that bound a process's memory whatever a
file holds (docs/security.md, "Uploads"). Read from the settings when an import
starts, so tests and operators can lower them."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ImportLimits:
    # Bytes read after decompression (the whole file when it is not gzipped).
    inflated_bytes: int
    # One line (CSV, JSON Lines), one CSV row spanning lines, one JSON element.
    line_bytes: int
    # Attributes (stray columns and the `attributes` object) of one product.
    attributes: int
    attribute_bytes: int
    # Columns in a CSV header.
    columns: int
    # Row errors kept on the batch and in the result; the rest are counted.
    errors: int

    @classmethod
    def from_settings(cls) -> "ImportLimits":
        return cls(
            inflated_bytes=settings.TAGGER_IMPORT_MAX_INFLATED_BYTES,
            line_bytes=settings.TAGGER_IMPORT_MAX_LINE_BYTES,
            attributes=settings.TAGGER_IMPORT_MAX_ATTRIBUTES,
            attribute_bytes=settings.TAGGER_IMPORT_MAX_ATTRIBUTE_BYTES,
            columns=settings.TAGGER_IMPORT_MAX_COLUMNS,
            errors=settings.TAGGER_IMPORT_MAX_ERRORS,
        )


def size_text(size: int) -> str:
    """A byte count as the messages say it: 1 GiB, 4 MiB, 64 KiB, 100 bytes."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size:,} bytes"
