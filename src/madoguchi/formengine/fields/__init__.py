"""Field types: one small module per family; `TYPES` maps a schema type to its behaviour.

`repeat` is structural and handled in `formengine.validation`.
"""

from .base import (
    Ctx,
    DetectedFile,
    FieldError,
    FieldType,
    Loc,
    SummaryLine,
    UploadedFileLike,
    error_summary,
    summary_text,
)
from .choice import CheckboxesType, NoticeType, SelectType, YesNoType
from .file import FileType
from .jpfields import (
    BankAccountType,
    CorporateNumberType,
    DateType,
    IndividualNumberType,
    PhoneType,
    PostalCodeType,
)
from .number import DecimalType, IntegerType, MoneyType
from .text import EmailType, KatakanaType, NameType, TextareaType, TextType

TYPES: dict[str, FieldType] = {
    "text": TextType(),
    "textarea": TextareaType(),
    "name": NameType(),
    "katakana": KatakanaType(),
    "date": DateType(),
    "postal_code": PostalCodeType(),
    "address": TextType(),
    "phone": PhoneType(),
    "email": EmailType(),
    "integer": IntegerType(),
    "decimal": DecimalType(),
    "money": MoneyType(),
    "select": SelectType(),
    "radio": SelectType(),
    "checkboxes": CheckboxesType(),
    "yesno": YesNoType(),
    "individual_number": IndividualNumberType(),
    "corporate_number": CorporateNumberType(),
    "bank_account": BankAccountType(),
    "file": FileType(),
    "notice": NoticeType(),
}

__all__ = [
    "TYPES",
    "Ctx",
    "DetectedFile",
    "FieldError",
    "FieldType",
    "Loc",
    "SummaryLine",
    "UploadedFileLike",
    "error_summary",
    "summary_text",
]
