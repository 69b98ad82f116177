"""Column roles: which source column holds the user, the text, the item, its name, the rating, the time.

Detection reads only column names; :mod:`segmentation.ingest.io` converts the values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

ROLES = ("user", "text", "item", "rating", "time", "item_name")
"""Every role, in detection order: a column taken by an earlier role is not offered to a later one."""
COLUMN = {
    "user": "user_id", "text": "text", "item": "item_id", "rating": "rating", "time": "time",
    "item_name": "item_name",
}
"""Role → the canonical column of :attr:`Comments.frame <segmentation.ingest.comments.Comments.frame>`."""

# Names are compared lower-cased without spaces, underscores, dashes or dots. Order is priority: ids before
# names (two reviews by the same "John" are not the same person), "summary"/"title" only as a last resort.
_ALIASES: dict[str, tuple[str, ...]] = {
    "user": (
        "user_id", "reviewer_id", "customer_id", "author_id", "member_id", "profile_id", "account_id", "uid",
        "用户id", "用户编号", "user", "author", "reviewer", "customer", "member", "username", "user_name",
        "reviewer_name", "author_name", "customer_name", "profile_name", "用户", "用户名", "昵称",
    ),
    "text": (
        "text", "comment", "review", "review_text", "comment_text", "review_body", "body", "content",
        "comments", "reviews", "message", "feedback", "opinion", "评论", "内容", "评论内容", "评价", "文本",
        "summary", "title", "review_title", "摘要", "标题",
    ),
    "item": (
        "item_id", "asin", "product_id", "movie_id", "recipe_id", "book_id", "business_id", "sku",
        "商品id", "产品id", "item", "product", "movie", "recipe", "book", "business", "商品", "产品",
    ),
    "rating": (
        "rating", "overall", "stars", "star_rating", "star", "score", "review_score", "rate", "评分",
        "星级", "打分", "分数",
    ),
    "time": (
        "timestamp", "time", "date", "unix_review_time", "created_at", "review_time", "review_date",
        "datetime", "created", "posted_at", "date_time", "时间", "日期", "评论时间",
    ),
    # Detected after the text, so that a file whose only text is a "title" keeps it as the text; "title"
    # and "name" come last because they may name something other than the item.
    "item_name": (
        "item_name", "product_name", "product_title", "item_title", "recipe_name", "movie_title",
        "book_title", "business_name", "商品名称", "产品名称", "商品名", "title", "name",
    ),
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name).strip().lower())


_NORMALISED = {role: tuple(_norm(a) for a in aliases) for role, aliases in _ALIASES.items()}


def detect_roles(columns: Sequence[str]) -> dict[str, str | None]:
    """Guess which column plays each role from its name.

    Names are compared case-insensitively, ignoring spaces, underscores, dashes and dots
    (``userId``, ``user_id`` and ``User ID`` all match). Id-like columns win over name-like ones.

    Parameters
    ----------
    columns : sequence of str
        Column names in file order.

    Returns
    -------
    dict
        Every role in :data:`ROLES` → a column name, or ``None`` where no column matched.
    """
    return detect_fixed(list(columns), {})


def detect_fixed(columns: list[str], fixed: Mapping[str, str | None]) -> dict[str, str | None]:
    """Like :func:`detect_roles`, with some roles already chosen (``None``: no such column)."""
    roles: dict[str, str | None] = dict(fixed)
    used = {c for c in fixed.values() if c}
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    for role in ROLES:
        if role in roles:
            continue
        roles[role] = None
        for alias in _NORMALISED[role]:
            column = by_norm.get(alias)
            if column is not None and column not in used:
                roles[role] = column
                used.add(column)
                break
    return {role: roles[role] for role in ROLES}
