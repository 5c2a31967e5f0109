"""``%(name)s`` expansion, as Supervisor does it: Python's ``%`` with a mapping.

Supervisor formats every value with ``value % names``; ``%%`` is a literal
``%`` and any conversion works (``%(process_num)02d``). We use the very same
operator so that widths, flags and errors match, with one deliberate
difference: a specifier without a name (``%s``, ``%d``) is an error. Supervisor
formats the whole mapping of names (the entire environment) into the value in
that case, which is never what the author meant.
"""

from __future__ import annotations

from collections.abc import Mapping

from capataz.config.values import BadValue

Names = Mapping[str, str | int]


def _describe(names: Names) -> str:
    plain = sorted(name for name in names if not name.startswith("ENV_"))
    shown = [f"%({name})s" for name in plain]
    if any(name.startswith("ENV_") for name in names):
        shown.append("%(ENV_X)s for an environment variable X")
    return ", ".join(shown)


def _unnamed_specifier(template: str) -> bool:
    """True when ``template`` holds a ``%`` specifier that names no key."""
    index = 0
    while (index := template.find("%", index)) != -1:
        following = template[index + 1 : index + 2]
        if following == "%":
            index += 2
        elif following == "(":
            depth = 0
            for position in range(index + 1, len(template)):
                depth += {"(": 1, ")": -1}.get(template[position], 0)
                if depth == 0:
                    index = position + 1
                    break
            else:
                return False  # an unclosed key: the operator reports it
        else:
            # A trailing '%' is left for the operator, which reports it.
            return following != ""
    return False


def expand(template: str, names: Names) -> str:
    """``template`` with every ``%(name)s`` replaced; :class:`BadValue` when it cannot be."""
    if "%" not in template:
        return template
    if _unnamed_specifier(template):
        raise BadValue(
            "every % to start a named expansion such as %(program_name)s "
            "(write %% for a literal %); names allowed here: " + _describe(names)
        )
    try:
        return template % names
    except KeyError as missing:
        key = str(missing.args[0])
        if key.startswith("ENV_"):
            raise BadValue(
                f"the environment variable {key[4:]} to be set for %({key})s; it is not. "
                "Export it before starting, or set it in [supervisord] environment= "
                "(write %% for a literal %)"
            ) from None
        raise BadValue(
            f"only names this option allows; %({key})s is not one of them. "
            f"Allowed here: {_describe(names)} (write %% for a literal %)"
        ) from None
    except (ValueError, TypeError) as why:
        raise BadValue(
            f"a well-formed %(name)s expansion ({why}); write %% for a literal %"
        ) from None
