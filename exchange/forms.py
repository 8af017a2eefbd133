"""Form helpers shared by every domain's forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape
from wtforms import SelectChoice
from wtforms.widgets import Select, html_params


def optional_int(value: object) -> int | None:
    """Coerce a select's value to an id; empty means none."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        raise ValueError("Not a valid choice.") from None


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class QuickSelect(Select):
    """WTForms' select with its options written out directly: the same HTML, without
    building and sorting an attribute dictionary for each option and group (the log
    form offers every verifier of every place, hundreds of options at a large college).
    Every value and label is escaped."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        if not field.has_groups():
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for optgroup, group in field._iter_groups_normalized():
            if optgroup is not None:
                html.append(f'<optgroup label="{escape(optgroup)}">')
            html.extend(self.render_option(choice) for choice in group)
            if optgroup is not None:
                html.append("</optgroup>")
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - every part escaped above

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        label = escape(choice.label or choice.value)
        return Markup(f'<option {selected}value="{escape(value)}">{label}</option>')  # noqa: S704 - escaped
