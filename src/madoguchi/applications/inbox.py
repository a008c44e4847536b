"""Inbox query (受付一覧): filters, free-text search, keyset pagination and status counts.

Pure query code: no request, no templates. The department inbox view, the export job and the
1M-row benchmark all use `inbox_queryset` / `inbox_page`.

Scope. A department inbox holds the submitted applications of that department's procedures,
and only when the user may open that department (`staff_departments`). That is the same set
as `applications.permissions.visible_applications(user, department=...)`, written as
`procedure_id IN (procedures of the department)` instead of a join, so no DISTINCT is needed
and the (municipality, status, -submitted_at) index can drive the ORDER BY ... LIMIT.

Pagination. Keyset (cursor) on (sort key, pk): page N costs what page 1 costs, and rows
inserted or changed between two page loads never make a row appear twice or be skipped
(as long as its sort key does not itself change). Counts per status come from one
GROUP BY over the current filter without its status part.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import BooleanField, Count, Expression, F, Q, QuerySet, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan, In
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import Procedure
from madoguchi.core import keyset
from madoguchi.core.boundary import (
    FILTER_DATE_MAX,
    FILTER_DATE_MIN,
    FilterDateError,
    parse_db_int,
    parse_filter_date,
)
from madoguchi.core.prepared import PreparedQuery
from madoguchi.jp.kana import search_key
from madoguchi.tenants.permissions import seeing_memberships, staff_departments

from .models import FINISHED_STATUSES, Application, Channel, Status
from .search_grams import required_grams
from .status_counts import totals as status_totals

__all__ = [
    "SORTS",
    "InboxFilter",
    "InboxPage",
    "InboxRow",
    "department_procedures",
    "inbox_page",
    "inbox_queryset",
    "inbox_scope",
    "is_capped",
    "status_counts",
]

# sort name → (field, descending). Every order ends with pk in the same direction.
SORTS: dict[str, tuple[str, bool]] = {
    "received_desc": ("submitted_at", True),
    "received_asc": ("submitted_at", False),
    "updated": ("updated_at", True),
    "due": ("due_at", False),  # soonest first, no due date last
}
SORT_LABELS = {
    "received_desc": _("受付日時の新しい順"),
    "received_asc": _("受付日時の古い順"),
    "updated": _("更新日時の新しい順"),
    "due": _("処理期限の近い順"),
}
DEFAULT_SORT = "received_desc"
INBOX_STATUSES = [s for s in Status.values if s != Status.DRAFT]
RECEIPT_NUMBER_RE = re.compile(r"\d{4}-\d{6}")
RECEIPT_PREFIX_RE = re.compile(r"\d{4}(-\d{0,6})?")
MAX_PAGE_SIZE = 200


def _parse_int(value) -> int | None:
    return parse_db_int(value, minimum=1)


def _filter_date(raw: str, name: str, errors: dict[str, str]) -> dt.date | None:
    """The date of filter parameter `name`; a malformed or out-of-range one is recorded in
    `errors` and ignored."""
    try:
        day = parse_filter_date(raw)
    except FilterDateError:
        bounds = {"min": FILTER_DATE_MIN.isoformat(), "max": FILTER_DATE_MAX.isoformat()}
        if name == "date_from":
            message = _("受付日（から）は %(min)s から %(max)s までの日付で入力してください。")
        else:
            message = _("受付日（まで）は %(min)s から %(max)s までの日付で入力してください。")
        errors[name] = str(message % bounds)
        return None
    if raw and day is None:
        if name == "date_from":
            errors[name] = str(_("受付日（から）は 2026-04-01 の形で入力してください。"))
        else:
            errors[name] = str(_("受付日（まで）は 2026-04-30 の形で入力してください。"))
    return day


@dataclass(frozen=True, slots=True)
class InboxFilter:
    procedure: int | None = None
    statuses: tuple[str, ...] = ()
    channel: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    assigned: str = ""  # "" (anyone), "me", "unassigned"
    overdue: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT
    cursor: str = ""
    # Parameters that could not be understood, as {name: Japanese message}; they are ignored.
    errors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Mapping) -> InboxFilter:
        """From request.GET (or any QueryDict / dict). Unknown values are dropped, never
        raise: a bookmarked URL from an older version still opens."""
        get_list = getattr(query, "getlist", None)

        def values(name: str) -> list[str]:
            if get_list is not None:
                return [v for v in get_list(name) if v != ""]
            value = query.get(name)
            if value in (None, ""):
                return []
            return list(value) if isinstance(value, list | tuple) else [value]

        def one(name: str) -> str:
            found = values(name)
            return str(found[-1]).strip() if found else ""

        errors: dict[str, str] = {}
        statuses = tuple(dict.fromkeys(s for s in values("status") if s in INBOX_STATUSES))
        channel = one("channel")
        if channel not in Channel.values:
            channel = ""
        date_from = _filter_date(one("date_from"), "date_from", errors)
        date_to = _filter_date(one("date_to"), "date_to", errors)
        if date_from and date_to and date_from > date_to:
            errors["date_to"] = str(_("受付日（まで）は受付日（から）以降の日付にしてください。"))
        assigned = one("assigned")
        if assigned not in {"me", "unassigned"}:
            assigned = ""
        sort = one("sort")
        if sort not in SORTS:
            sort = DEFAULT_SORT
        q = unicodedata.normalize("NFC", one("q"))[:100]
        return cls(
            procedure=_parse_int(one("procedure")),
            statuses=statuses,
            channel=channel,
            date_from=date_from,
            date_to=date_to,
            assigned=assigned,
            overdue=one("overdue") in {"1", "on", "true", "yes"},
            q=q,
            sort=sort,
            cursor=one("cursor"),
            errors=errors,
        )

    def as_params(self) -> list[tuple[str, str]]:
        """The filter as GET parameters (without the cursor): the saved-filter URL."""
        params: list[tuple[str, str]] = []
        if self.q:
            params.append(("q", self.q))
        if self.procedure:
            params.append(("procedure", str(self.procedure)))
        params += [("status", s) for s in self.statuses]
        if self.channel:
            params.append(("channel", self.channel))
        if self.date_from:
            params.append(("date_from", self.date_from.isoformat()))
        if self.date_to:
            params.append(("date_to", self.date_to.isoformat()))
        if self.assigned:
            params.append(("assigned", self.assigned))
        if self.overdue:
            params.append(("overdue", "1"))
        if self.sort != DEFAULT_SORT:
            params.append(("sort", self.sort))
        return params

    def querystring(self, **changes) -> str:
        """URL query for this filter with `changes` applied (e.g. cursor=..., statuses=())."""
        changed = replace(self, **changes) if changes else self
        params = changed.as_params()
        if changed.cursor:
            params.append(("cursor", changed.cursor))
        return urlencode(params)

    @property
    def is_filtered(self) -> bool:
        return any(name != "sort" for name, _value in self.as_params())


# --- scope -------------------------------------------------------------------------------


def department_procedures(department) -> list[int]:
    """Ids of the procedures a department handles. Resolved to a list first (one small
    query) so the inbox query is a plain `procedure_id IN (...)` the planner can estimate."""
    department_id = getattr(department, "pk", department)
    return list(Procedure.objects.filter(departments=department_id).values_list("pk", flat=True))


def allowed_procedure_ids(user, department) -> list[int]:
    """The procedures of a department the user may open ([] when they may not)."""
    department_id = getattr(department, "pk", department)
    if department_id not in {d.pk for d in staff_departments(user)}:
        return []
    return department_procedures(department_id)


def inbox_scope(user, department=None, *, procedure_ids: list[int] | None = None) -> QuerySet:
    """Submitted applications the user may see; of one department when given (none at all
    when the user may not open that department). `procedure_ids`: the department's
    `allowed_procedure_ids`, when the caller already has them."""
    base = Application.objects.submitted()
    if department is not None:
        if procedure_ids is None:
            procedure_ids = allowed_procedure_ids(user, department)
        return _department_scope(base, getattr(department, "municipality_id", None), procedure_ids)
    scope = Q(pk__in=[])
    for m in seeing_memberships(user):
        if m.department_id is None:
            scope |= Q(municipality_id=m.municipality_id)
        else:
            scope |= Q(
                municipality_id=m.municipality_id,
                procedure_id__in=department_procedures(m.department_id),
            )
    return base.filter(scope)


def _department_scope(base: QuerySet, municipality_id, procedure_ids) -> QuerySet:
    # The procedures alone scope the rows (a procedure belongs to one municipality); the
    # municipality is in the WHERE too so that the (municipality, 受付番号) unique index
    # answers a 受付番号 search.
    if municipality_id is not None:
        base = base.filter(municipality_id=municipality_id)
    return base.filter(procedure_id__in=procedure_ids)


def scope_procedure_ids(user) -> list[int]:
    """The procedures of the applications `inbox_scope(user)` holds without a department:
    those of the municipalities of the user's municipality-wide memberships and those of the
    departments of the others (a procedure belongs to one municipality, so a municipality's
    applications are its procedures' applications)."""
    municipality_ids = {
        m.municipality_id for m in seeing_memberships(user) if m.department_id is None
    }
    department_ids = {
        m.department_id for m in seeing_memberships(user) if m.department_id is not None
    }
    if not municipality_ids and not department_ids:
        return []
    return sorted(
        Procedure.objects.filter(
            Q(municipality_id__in=municipality_ids) | Q(departments__in=department_ids)
        )
        .values_list("pk", flat=True)
        .distinct()
    )


# --- filters -----------------------------------------------------------------------------


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def search_kind(text: str) -> str:
    """ "receipt_number", "name" or "" (nothing to search): for the 閲覧ログ."""
    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
    if not compact:
        return ""
    if RECEIPT_PREFIX_RE.fullmatch(compact) or compact.isdigit():
        return "receipt_number"
    return "name"


def search_q(
    text: str, *, grams_below: float = 0.0, procedure_ids: list[int] | None = None
) -> Q | None:
    """What staff type in the inbox's one search box:

    - a whole 受付番号 (2026-000123): that application (the unique index on (municipality,
      受付番号) answers it; the scope puts the municipality in the WHERE);
    - its beginning (2026-0001, 2026-): prefix (the (procedure, 受付番号 pattern) index of
      migration 0012);
    - digits alone (0123, 123): the last digits of the 受付番号, or its year when four digits;
    - anything else: any part of the applicant's name, in kanji (search_name: NFKC, no spaces,
      case-folded) or in its reading (search_kana: hiragana, so カタカナ, ﾊﾝｶｸ and ひらがな all
      match): 山田, 美咲, 田美, みさき, ミサキ.

    The name is always tested by LIKE '%x%' on the two normalised columns (SQLite searches
    with it alone). On PostgreSQL, when the search's grams are rarer than `grams_below` (a
    share of all applications, `gram_share`), the condition that every match holds the
    search's grams (`search_grams @> ARRAY[...]`: the text itself for one or two characters,
    its bigrams for more, search_grams.required_grams) is added: implied by the LIKE, it
    never changes the result, and the GIN index on (procedure, search_grams) of migration
    0012 then finds the candidates of `procedure_ids` (the department's procedures; every
    procedure's when None, through the grams' own index of 0011) directly. A common gram is
    left out (see `gram_shares`): the caller says how rare is rare enough for its query."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    receipt_number = exact_receipt_number(text)
    if receipt_number is not None:
        return Q(receipt_number=receipt_number)
    compact = re.sub(r"\s+", "", text)
    if compact.isdigit():
        by_number = Q(receipt_number__endswith=compact)
        if len(compact) == 4:
            by_number |= Q(receipt_number__startswith=compact)
        return by_number
    if RECEIPT_PREFIX_RE.fullmatch(compact):
        if connection.vendor == "postgresql":
            return Q(ReceiptPrefix(compact))
        return Q(receipt_number__startswith=compact)
    name_key = compact.casefold()
    kana = search_key(text)
    alternatives = _gram_alternatives(text, grams_below)
    if alternatives is not None:
        # The exact test as STRPOS, which no index answers: as a LIKE, the planner would
        # also read the trigram index (every application of the municipality holding
        # the text) to combine it with the grams' bitmap, which already holds only the
        # department's candidates (「やまだ」: 22,000 entries read for nothing).
        found = Q(GreaterThan(StrIndex("search_name", Value(name_key)), 0))
        if kana:
            found |= Q(GreaterThan(StrIndex("search_kana", Value(kana)), 0))
        return found & Q(GramsContain([sorted(a) for a in alternatives], procedure_ids))
    found = Q(search_name__contains=name_key)
    if kana:
        found |= Q(search_kana__contains=kana)
    return found


def exact_receipt_number(text: str) -> str | None:
    """The whole 受付番号 the search box holds (NFKC, spaces taken out), else None."""
    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
    return compact if RECEIPT_NUMBER_RE.fullmatch(compact) else None


def _gram_alternatives(text: str, grams_below: float) -> list[frozenset[str]] | None:
    """The grams' sets of a name search when search_q adds their condition (PostgreSQL, all
    rarer than `grams_below`), else None. `text`: NFKC-normalised and stripped."""
    if grams_below <= 0 or connection.vendor != "postgresql":
        return None
    compact = re.sub(r"\s+", "", text)
    kana = search_key(text)
    keys = [compact.casefold(), kana] if kana else [compact.casefold()]
    # One set of grams per way the name can match (kanji or reading); a row matching
    # either holds all the grams of that set.
    alternatives = sorted({required_grams(key) for key in keys}, key=sorted)
    if max(gram_share(a) for a in alternatives) < grams_below:
        return alternatives
    return None


def search_reads_every_name(text: str, grams_below: float) -> bool:
    """Whether search_q(text, grams_below=...) is a name search left to the LIKE alone: the
    database then reads the name of every application in scope (the (procedure, status)
    index holding the two name columns, on PostgreSQL)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    return search_kind(text) == "name" and _gram_alternatives(text, grams_below) is None


class ReceiptPrefix(Expression):
    """`receipt_number ~>=~ prefix AND receipt_number ~<~ next` (PostgreSQL): the 受付番号
    beginning with `prefix`, compared byte by byte whatever the database's collation, as
    the LIKE 'prefix%' it replaces, and answered by the (procedure, 受付番号
    varchar_pattern_ops) index of migration 0012 only. A LIKE would let the planner read the
    trigram index instead, whose first trigrams ('202', '026', '26-') every number holds:
    ~1,000 index pages for 10 rows. `prefix` is digits and a hyphen (RECEIPT_PREFIX_RE):
    its last character plus one bounds the range."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, prefix: str):
        super().__init__()
        if not RECEIPT_PREFIX_RE.fullmatch(prefix):
            raise ValueError(prefix)
        self.prefix = prefix
        self.anchor = F("receipt_number")

    def get_source_expressions(self):
        return [self.anchor]

    def set_source_expressions(self, exprs):
        (self.anchor,) = exprs

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.anchor)
        upper = self.prefix[:-1] + chr(ord(self.prefix[-1]) + 1)
        sql = f"({column}::text ~>=~ %s AND {column}::text ~<~ %s)"
        return sql, (*params, self.prefix, *params, upper)


# A gram in at least this share of the applications is left to the inbox's date index for
# the rows of a page (their counts: COUNT_GRAM_SHARE). 1M bench, the busiest department's
# 118,000 applications, busy machine: up to 2 %, the grams' candidates (at most ~2,400,
# found by the (procedure, grams) index) are read sooner than the date index is walked to
# the 51st match (「森」 1.5 %: 19 against 29 ms; 「松」 2.0 %: 26 against 32; beyond,
# 「山田」 2.2 %: 27 against 20), and a longer name left to its LIKE may be planned on the
# trigram index ANDed with the department's every entry of the procedure index
# (「はやし」, its rarest bigram in 1.7 %: 46 ms, 12 by its grams).
COMMON_GRAM_SHARE = 0.02
_STATS_SECONDS = 600
_common: tuple[float, dict[str, float]] = (-_STATS_SECONDS, {})


def gram_shares() -> dict[str, float]:
    """{gram: share of the applications holding it} for the most common grams, from
    PostgreSQL's statistics (ANALYZE), read again every 10 minutes. A gram not listed is
    rarer than every listed one.

    For a common gram (「田」, 「美咲」) the newest matching applications are found soonest by
    walking the date index, through the table's newest pages; the planner cannot see that
    when the grams' condition is there, because it counts the LIKE as a second, independent
    filter, expects a few hundred matches and reads the GIN index, then visits every match
    of the department. A rare gram keeps its condition: the GIN index finds its few rows at
    once."""
    global _common
    read_at, found = _common
    now = time.monotonic()
    if now - read_at < _STATS_SECONDS:
        return found
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = %s AND attname = %s",
            [Application._meta.db_table, "search_grams"],
        )
        row = cursor.fetchone()
    elements, shares = row if row and row[0] else ([], [])
    # The shares end with three summary figures (min, max, nulls): zip stops before them.
    found = dict(zip(elements, shares, strict=False))
    _common = (now, found)
    return found


def common_grams() -> frozenset[str]:
    """The grams in at least COMMON_GRAM_SHARE of the applications."""
    return frozenset(g for g, share in gram_shares().items() if share >= COMMON_GRAM_SHARE)


def gram_share(required: frozenset[str]) -> float:
    """At most the share of the applications holding all of `required`: that of its rarest
    gram (0 for a gram rarer than the statistics list)."""
    shares = gram_shares()
    return min((shares.get(g, 0.0) for g in required), default=1.0)


class GramsContain(Expression):
    """`(search_grams @> ARRAY[...] OR ...)` on the application row, one array per
    alternative, each with `(procedure_id + 0) = ANY(procedure_ids)` when given (PostgreSQL
    only: the column is kept by triggers, migration 0011, and is not a model field). The
    table's alias comes from a resolved column, so the condition also holds inside a
    subquery.

    `procedure_id + 0` is the first column of the (procedure, grams) GIN index of migration
    0012, written so: as the plain column, the planner would also pick that index for any
    `procedure_id IN (...)` (a department's 118,000 entries, 50 ms, to combine with a few
    rows found by another index), which the btree indexes on procedure answer far sooner."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, alternatives: list[list[str]], procedure_ids: list[int] | None = None):
        super().__init__()
        self.alternatives = [list(a) for a in alternatives]
        self.procedure_ids = None if procedure_ids is None else [int(p) for p in procedure_ids]
        self.anchor = F("search_name")

    def get_source_expressions(self):
        return [self.anchor]

    def set_source_expressions(self, exprs):
        (self.anchor,) = exprs

    def as_sql(self, compiler, connection):
        alias = compiler.quote_name_unless_alias(self.anchor.alias)
        test = f'{alias}."search_grams" @> %s::text[]'
        if self.procedure_ids is None:
            params = list(self.alternatives)
        else:
            test = f'({alias}."procedure_id" + 0) = ANY(%s::bigint[]) AND {test}'
            params = [p for a in self.alternatives for p in (self.procedure_ids, a)]
        tests = [f"({test})" for _ in self.alternatives]
        return f"({' OR '.join(tests)})", tuple(params)


def _apply_filters(
    qs: QuerySet,
    user,
    f: InboxFilter,
    *,
    with_status: bool = True,
    grams_below: float | None = None,
    procedure_ids: list[int] | None = None,
) -> QuerySet:
    """`procedure_ids`: those of the scope (a department's), for the search's index;
    `grams_below`: see search_q (default COMMON_GRAM_SHARE, for the rows of a page)."""
    if f.procedure and procedure_ids is not None:
        procedure_ids = [p for p in procedure_ids if p == f.procedure]
    if grams_below is None:
        grams_below = COMMON_GRAM_SHARE
    by_grams = procedure_ids is not None and _searches_by_grams(f.q, grams_below)
    if by_grams:
        # The grams' condition holds the scope's procedures (and the filter's one), as the
        # first column of the (procedure, grams) GIN index: see _without_procedure_scope.
        qs = _without_procedure_scope(qs, procedure_ids)
    elif f.procedure:
        qs = qs.filter(procedure_id=f.procedure)
    if with_status and f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.date_from and "date_from" not in f.errors:
        qs = qs.filter(submitted_at__gte=_local_midnight(f.date_from))
    if f.date_to and "date_to" not in f.errors:
        qs = qs.filter(submitted_at__lt=_local_midnight(f.date_to + dt.timedelta(days=1)))
    if f.assigned == "me":
        qs = qs.filter(assigned_to=user)
    elif f.assigned == "unassigned":
        qs = qs.filter(assigned_to__isnull=True)
    if f.overdue:
        qs = qs.filter(due_at__lt=timezone.now()).exclude(status__in=FINISHED_STATUSES)
    search = search_q(f.q, grams_below=grams_below, procedure_ids=procedure_ids)
    if search is not None:
        qs = qs.filter(search)
    return qs


def _searches_by_grams(text: str, grams_below: float) -> bool:
    """Whether search_q(text, grams_below=...) adds the grams' condition (a name search)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    return search_kind(text) == "name" and _gram_alternatives(text, grams_below) is not None


def _without_procedure_scope(qs: QuerySet, procedure_ids: list[int]) -> QuerySet:
    """`qs` without its `procedure_id IN (...)` (inbox_scope's) when the search's grams'
    condition restricts the rows to `procedure_ids` (part of those) by itself: then only the
    (procedure, grams) GIN index finds the candidates. With the plain condition there too,
    the planner ANDs that index's bitmap with the procedure index's, every application of
    the department (118,000 entries, 1M bench, 「山田」: 45 of its 75 ms), believing the two
    conditions independent. The rows are the same: the grams' condition holds
    `procedure_id + 0 = ANY(procedure_ids)`, and a procedure belongs to one municipality
    (the scope's other condition stays)."""
    allowed = set(procedure_ids)
    qs = qs.all()
    where = qs.query.where
    where.children = [
        child
        for child in where.children
        if not (
            isinstance(child, In)
            and getattr(getattr(child.lhs, "target", None), "name", None) == "procedure"
            and allowed <= set(child.rhs)
        )
    ]
    return qs


def _order(sort: str, *, reverse: bool = False) -> list:
    field_name, descending = SORTS[sort]
    return keyset.ordering(
        field_name, descending=descending != reverse, nullable=field_name == "due_at"
    )


def inbox_queryset(user, department, inbox_filter: InboxFilter) -> QuerySet:
    """Filtered and ordered (by the filter's sort, then pk), without pagination."""
    ids = allowed_procedure_ids(user, department) if department is not None else None
    scope = inbox_scope(user, department, procedure_ids=ids)
    qs = _apply_filters(scope, user, inbox_filter, procedure_ids=ids)
    return qs.order_by(*_order(inbox_filter.sort))


def status_counts(user, department, inbox_filter: InboxFilter) -> dict[str, int]:
    """{status: count} for the current filter ignoring its status part. With a search, a
    count above SEARCH_COUNT_CAP is SEARCH_COUNT_CAP + 1 (see _counts)."""
    ids = allowed_procedure_ids(user, department) if department is not None else None
    scope = inbox_scope(user, department, procedure_ids=ids)
    return _counts(scope, user, inbox_filter, procedure_ids=ids)


# Below this share of the applications, a search's grams count its matches (see _counts);
# above, each status is counted up to the cap on the name index. 1M bench, busy machine:
# 「小林」 2.7 %: 20 against 28 ms; 「渡辺」 3.4 %: 30 against 26; 「さき」 4.3 %: 38 against 32.
COUNT_GRAM_SHARE = 0.03
# With a search, each status is counted up to this many matches; the screen shows
# 「1,000件以上」 for more (a broad name is not worth reading the department's every name).
SEARCH_COUNT_CAP = 1000
# Filters the maintained per-procedure counts can answer (everything else is counted).
_COUNTABLE_FROM_TABLE = {"status", "procedure", "sort"}


def is_capped(inbox_filter: InboxFilter) -> bool:
    """Whether the filter's counts stop at SEARCH_COUNT_CAP (it has a search)."""
    return bool(inbox_filter.q.strip())


def _counts(
    scope: QuerySet, user, inbox_filter: InboxFilter, *, procedure_ids: list[int] | None = None
) -> dict[str, int]:
    """{status: count}. With a search (is_capped), a count above SEARCH_COUNT_CAP is
    SEARCH_COUNT_CAP + 1: "more than the cap"."""
    counts = dict.fromkeys(INBOX_STATUSES, 0)
    params = {name for name, _value in inbox_filter.as_params()}
    if params <= _COUNTABLE_FROM_TABLE:
        # A department's (or, without one, every department's) whole history: read the
        # trigger-maintained counts (a few rows) rather than counting 100,000+ applications
        # at every page load (1M bench, 管理者's 全体 inbox: 79 ms of GROUP BY).
        table_ids = procedure_ids if procedure_ids is not None else scope_procedure_ids(user)
        if inbox_filter.procedure:
            table_ids = [p for p in table_ids if p == inbox_filter.procedure]
        counts.update(status_totals(table_ids, INBOX_STATUSES))
        return counts
    qs = _apply_filters(
        scope,
        user,
        inbox_filter,
        with_status=False,
        grams_below=COUNT_GRAM_SHARE,
        procedure_ids=procedure_ids,
    ).order_by()
    if is_capped(inbox_filter) and search_reads_every_name(inbox_filter.q, COUNT_GRAM_SHARE):
        # A name too common for its grams (「田」, 「みさき」: a fifth or a twentieth of the
        # department) is tested on every name of the (procedure, status) index holding the
        # two name columns, without visiting the table. Each status stops at the cap: the
        # scan of a large status ends after its first 1,001 matches (1M bench, 「みさき」:
        # 50,000 index entries read instead of 118,000, 35 → 12 ms).
        counts.update(_capped_counts(qs, SEARCH_COUNT_CAP + 1))
        return counts
    # Otherwise few rows: those of a rare name's grams (the (procedure, search_grams) GIN
    # index finds the department's candidates and only those are read from the table, once
    # for every status: 「やまだ」 10.6 ms, 15 ms by status and limit), a 受付番号 or a
    # filter without a search (exact counts).
    rows = qs.values("status").annotate(n=Count("*")).values_list("status", "n")
    counts.update({status: int(n) for status, n in rows})
    if is_capped(inbox_filter):
        counts = {s: min(n, SEARCH_COUNT_CAP + 1) for s, n in counts.items()}
    return counts


def _capped_counts(qs: QuerySet, limit: int) -> dict[str, int]:
    """{status: min(count, limit)} over `qs` for every inbox status, in one statement: one
    `SELECT COUNT(*) FROM (... AND status = s LIMIT limit)` per status, in UNION ALL (each
    planned with its own status's statistics)."""
    branches, params = [], []
    for status in INBOX_STATUSES:
        # Only the status column: it is in the index, so the scan does not visit the table.
        sub = qs.filter(status=status).values("status")[:limit]
        try:
            sql, sub_params = sub.query.get_compiler(using=qs.db).as_sql()
        except EmptyResultSet:
            # A filter nothing can match (an out-of-range id, no procedure in scope): what
            # the ORM answers without asking the database, as QuerySet.count() does.
            return {}
        branches.append(f"SELECT %s, (SELECT COUNT(*) FROM ({sql}) capped)")
        params += [status, *sub_params]
    with connections[qs.db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), params)
        return {status: int(n) for status, n in cursor.fetchall()}


# --- keyset pagination -------------------------------------------------------------------


def _encode_cursor(direction: str, sort: str, key, pk: int) -> str:
    return keyset.encode_cursor((direction, sort), key, pk)


def _decode_cursor(cursor: str, sort: str):
    """(direction, key, pk) or None for a missing, malformed or other-sort cursor."""
    decoded = keyset.decode_cursor(
        cursor, (None, sort), nullable=SORTS.get(sort, ("",))[0] == "due_at"
    )
    if decoded is None or decoded[0][0] not in {"n", "p"}:
        return None
    return decoded[0][0], decoded[1], decoded[2]


def _after(sort: str, key, pk: int, *, reverse: bool) -> Q:
    """Rows strictly after (key, pk) in the sort order (before it when `reverse`)."""
    field_name, descending = SORTS[sort]
    return keyset.after(
        field_name, key, pk, descending=descending != reverse, nullable=field_name == "due_at"
    )


# The columns of a row of the list (InboxRow's fields, in order).
ROW_COLUMNS = (
    "pk",
    "receipt_number",
    "procedure_id",
    "status",
    "channel",
    "applicant_name",
    "applicant_name_kana",
    "submitted_at",
    "updated_at",
    "due_at",
    "resubmitted_at",
    "assigned_to_id",
    "assigned_to__last_name",
    "assigned_to__first_name",
    "assigned_to__username",
)


@dataclass(slots=True)
class InboxRow:
    """What the list shows of an application: its columns alone, as a tuple from the
    database (50 Application, Procedure and User instances with every column, a procedure's
    whole public description included, were the larger part of a page's CPU time). The
    procedure's name is the caller's (the filter's list of procedures holds them)."""

    pk: int
    receipt_number: str
    procedure_id: int
    status: str
    channel: str
    applicant_name: str
    applicant_name_kana: str
    submitted_at: dt.datetime | None
    updated_at: dt.datetime | None
    due_at: dt.datetime | None
    resubmitted_at: dt.datetime | None
    assigned_to_id: int | None
    assignee_last_name: str | None
    assignee_first_name: str | None
    assignee_username: str | None

    @property
    def id(self) -> int:
        return self.pk

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def assignee_name(self) -> str:
        """As staff.common.staff_display_name: 「姓 名」, else the user name ("" when none)."""
        if self.assigned_to_id is None:
            return ""
        full = f"{self.assignee_last_name or ''} {self.assignee_first_name or ''}".strip()
        return full or self.assignee_username or ""


@dataclass(slots=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str
    prev_cursor: str
    counts_by_status: dict[str, int]
    total: int  # rows matching the whole filter, from the counts (no extra query)
    inbox_filter: InboxFilter
    # Statuses whose count stopped at SEARCH_COUNT_CAP (a search): their count in
    # counts_by_status is the cap, and `total` is then at least the figure it holds.
    capped: frozenset[str] = frozenset()

    @property
    def total_capped(self) -> bool:
        statuses = self.inbox_filter.statuses or self.counts_by_status
        return any(s in self.capped for s in statuses)

    @property
    def is_first(self) -> bool:
        return not self.prev_cursor


# --- the common pages' rows, compiled once --------------------------------------------------
#
# Building and compiling the rows' queryset through the ORM is 0.5 ms of CPU per page, where
# PostgreSQL answers a 受付番号 in 0.1 ms: a department's first pages, with or without a
# filter on status, channel or 担当, and a whole 受付番号 searched, are compiled once per
# shape (core.prepared) from the very queryset the ORM path builds (inbox_scope and
# _apply_filters), so both give the same SQL. Dates, 期限切れ, the procedure filter, a cursor
# and the other searches take the ORM path (their values are dates, patterns and keys).


def _preparable(department, f: InboxFilter, cursor, procedure_ids) -> bool:
    return (
        department is not None
        and bool(procedure_ids)
        and cursor is None
        and not (f.date_from or f.date_to or f.overdue or f.procedure)
        and (not f.q or exact_receipt_number(f.q) is not None)
    )


def _rows_query(shape, municipality, procedures, user=None, q=None) -> QuerySet:
    sort, statuses, channel, assigned, limit = shape
    f = InboxFilter(statuses=statuses, channel=channel, assigned=assigned, sort=sort)
    scope = _department_scope(Application.objects.submitted(), municipality, procedures)
    qs = _apply_filters(scope, user, f, procedure_ids=procedures)
    if q is not None:
        qs = qs.filter(receipt_number=q)  # search_q's condition for a whole 受付番号
    return qs.order_by(*_order(sort)).values_list(*ROW_COLUMNS)[:limit]


def _rows_variant(by_user: bool, by_receipt: bool) -> PreparedQuery:
    names = ("municipality", "procedures", *(("user",) if by_user else ()))
    return PreparedQuery(Application, _rows_query, names, strings=("q",) if by_receipt else ())


_PREPARED_ROWS = {
    (by_user, by_receipt): _rows_variant(by_user, by_receipt)
    for by_user in (False, True)
    for by_receipt in (False, True)
}


def _prepared_rows(department, f: InboxFilter, procedure_ids, user, limit: int) -> list[tuple]:
    by_user, q = f.assigned == "me", exact_receipt_number(f.q) if f.q else None
    values = {"municipality": department.municipality_id, "procedures": list(procedure_ids)}
    if by_user:
        values["user"] = user.pk
    if q is not None:
        values["q"] = q
    shape = (f.sort, tuple(f.statuses), f.channel, f.assigned, limit)
    return _PREPARED_ROWS[(by_user, q is not None)].rows(shape, **values)


def inbox_page(
    user,
    department,
    inbox_filter: InboxFilter,
    *,
    page_size: int = 50,
    with_counts: bool = True,
    procedure_ids: list[int] | None = None,
) -> InboxPage:
    """One page of the inbox: the rows and the counts per status (2 queries, plus the
    department check; 1 when the first page holds every match), whatever the page number. `procedure_ids`: the department's
    procedures when the caller has already checked the user may open the department."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    sort = inbox_filter.sort
    field_name = SORTS[sort][0]
    ids = None
    if department is not None:
        ids = (
            procedure_ids if procedure_ids is not None else allowed_procedure_ids(user, department)
        )
    cursor = _decode_cursor(inbox_filter.cursor, sort)
    backwards = cursor is not None and cursor[0] == "p"
    # Built once, and only when the rows or the counts need it (全体's scope reads the
    # procedures of each department membership).
    scope = None
    if _preparable(department, inbox_filter, cursor, ids):
        found = _prepared_rows(department, inbox_filter, ids, user, page_size + 1)
    else:
        scope = inbox_scope(user, department, procedure_ids=ids)
        qs = _apply_filters(scope, user, inbox_filter, procedure_ids=ids)
        if cursor is not None:
            qs = qs.filter(_after(sort, cursor[1], cursor[2], reverse=backwards))
        found = qs.order_by(*_order(sort, reverse=backwards)).values_list(*ROW_COLUMNS)[
            : page_size + 1
        ]
    rows = [InboxRow(*values) for values in found]
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
        has_next, has_prev = True, has_more
    else:
        has_next, has_prev = has_more, cursor is not None
    next_cursor = prev_cursor = ""
    if rows and has_next:
        last = rows[-1]
        next_cursor = _encode_cursor("n", sort, getattr(last, field_name), last.pk)
    if rows and has_prev:
        first = rows[0]
        prev_cursor = _encode_cursor("p", sort, getattr(first, field_name), first.pk)
    if not with_counts:
        counts = {}
    elif cursor is None and not has_more and not inbox_filter.statuses:
        # The page holds every match of the filter, in every status: its rows are the
        # counts (a 受付番号, a rare name), no second statement.
        counts = dict.fromkeys(INBOX_STATUSES, 0)
        for row in rows:
            counts[row.status] += 1
    else:
        if scope is None:
            scope = inbox_scope(user, department, procedure_ids=ids)
        counts = _counts(scope, user, inbox_filter, procedure_ids=ids)
    capped = frozenset()
    if is_capped(inbox_filter):
        capped = frozenset(s for s, n in counts.items() if n > SEARCH_COUNT_CAP)
        counts = {s: min(n, SEARCH_COUNT_CAP) for s, n in counts.items()}
    if inbox_filter.statuses:
        total = sum(counts.get(s, 0) for s in inbox_filter.statuses)
    else:
        total = sum(counts.values())
    return InboxPage(rows, next_cursor, prev_cursor, counts, total, inbox_filter, capped)
