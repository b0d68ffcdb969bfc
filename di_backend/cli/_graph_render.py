"""Render a :class:`~di_backend.cli._graph_model.WiringGraph` as text, Mermaid or DOT.

In Mermaid and DOT a solid arrow ``A --> B`` means "A is initialised before B";
dashed arrows connect an extension point with the init that registers it and the
modules that use it. Each init's label lists the services it needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Final, Literal

from di_backend.cli._graph_types import InitInfo, PluginInfo, WiringGraph

__all__ = ["FORMATS", "GraphFormat", "render"]

GraphFormat = Literal["text", "mermaid", "dot"]
"""The output formats of ``di-backend graph``."""

FORMATS: Final[tuple[GraphFormat, ...]] = ("text", "mermaid", "dot")
"""Every output format, the default first."""


def _inits(plugin: PluginInfo) -> list[InitInfo]:
    return [*plugin.modules, *([plugin.plugin] if plugin.plugin is not None else [])]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# -- text ------------------------------------------------------------------------


def _text_init(init: InitInfo) -> Iterator[str]:
    step = "-" if init.step is None else str(init.step)
    title = "plugin init" if init.module_id is None else f"module '{init.module_id}'"
    yield f"  {step}. {title}  from {init.origin}"
    yield f"       init: {init.function}"
    for ep_id in init.extension_points:
        yield f"       registers extensionPoint{{{ep_id}}}"
    width = max((len(dep.name) for dep in init.deps), default=0)
    ref_width = max((len(dep.ref) for dep in init.deps), default=0)
    for dep in init.deps:
        yield f"       {dep.name:<{width}}  {dep.ref:<{ref_width}}  {dep.provider}"
    if not init.deps:
        yield "       (no dependencies)"
    if init.problem is not None:
        yield f"       FAILS: {init.problem}"


def _render_text(graph: WiringGraph) -> str:
    modules = sum(len(p.modules) for p in graph.plugins)
    installed = [p for p in graph.plugins if p.plugin is not None]
    sources = ", ".join(graph.config_sources) or "no config files"
    lines = [
        f"Wiring of {_plural(len(installed), 'plugin')} and {_plural(modules, 'module')} "
        f"(config: {sources})",
        "Plugins start concurrently. Within a plugin, modules start in the numbered steps",
        "(modules sharing a step start together), then the plugin's init.",
    ]
    for plugin in graph.plugins:
        lines.append("")
        if plugin.plugin is None:
            lines.append(f"plugin '{plugin.plugin_id}' (not installed: its modules do not start)")
        else:
            lines.append(f"plugin '{plugin.plugin_id}'")
        for init in _inits(plugin):
            lines.extend(_text_init(init))
        if plugin.problem is not None:
            lines.append(f"  FAILS: {plugin.problem}")
    if graph.extension_points:
        lines += ["", "Extension points"]
        for point in graph.extension_points:
            used = ", ".join(point.used_by) or "no module"
            lines.append(
                f"  extensionPoint{{{point.id}}}: registered by {point.registered_by}; "
                f"used by {used}"
            )
    if graph.unexpanded_loaders:
        lines += ["", "Feature loaders not expanded (they need services a graph does not create)"]
        lines.extend(f"  {loader}" for loader in graph.unexpanded_loaders)
    problems = graph.problems
    if problems:
        lines += ["", f"Problems ({len(problems)}): `di-backend start` would report these"]
        lines.extend(f"  {problem}" for problem in problems)
    return "\n".join(lines)


# -- mermaid and dot ---------------------------------------------------------------


class _NodeIds:
    """Readable Mermaid/DOT node ids (letters, digits, ``_``); distinct keys, distinct ids."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, ...], str] = {}
        self._used: set[str] = set()

    def __call__(self, *key: str) -> str:
        found = self._ids.get(key)
        if found is not None:
            return found
        base = "_".join(re.sub(r"[^A-Za-z0-9]", "_", part) for part in key)
        candidate, count = base, 1
        while candidate in self._used:
            count += 1
            candidate = f"{base}_{count}"
        self._ids[key] = candidate
        self._used.add(candidate)
        return candidate

    def init(self, init: InitInfo) -> str:
        """The id of a plugin's or module's init node."""
        if init.module_id is None:
            return self("init", init.plugin_id)
        return self("init", init.plugin_id, init.module_id)


def _label_lines(init: InitInfo) -> list[str]:
    title = (
        f"plugin '{init.plugin_id}' init"
        if init.module_id is None
        else f"module '{init.module_id}'"
    )
    if init.step is not None:
        title = f"{init.step}. {title}"
    services = [dep.ref_id for dep in init.deps if dep.kind == "service"]
    lines = [title]
    if services:
        lines.append("needs: " + ", ".join(services))
    if init.problem is not None:
        lines.append("FAILS: " + init.problem)
    return lines


def _edges(
    graph: WiringGraph, ids: _NodeIds
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """``(before, after)`` pairs and ``(source, target, label)`` extension-point links."""
    order: list[tuple[str, str]] = []
    links: list[tuple[str, str, str]] = []
    by_name = {init.describe(): init for p in graph.plugins for init in _inits(p)}
    for plugin in graph.plugins:
        for module in plugin.modules:
            if plugin.plugin is not None:
                order.append((ids.init(module), ids.init(plugin.plugin)))
    for point in graph.extension_points:
        ep_node = ids("ep", point.id)
        registrant = by_name.get(point.registered_by)
        if registrant is not None:
            links.append((ids.init(registrant), ep_node, "registers"))
        for user in point.used_by:
            consumer = by_name.get(user)
            if consumer is None:
                continue
            links.append((ep_node, ids.init(consumer), "used by"))
            if registrant is not None and registrant.module_id is not None:
                order.append((ids.init(consumer), ids.init(registrant)))
    return order, links


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mermaid_text(text: str) -> str:
    escapes = {'"': "#quot;", "<": "#lt;", ">": "#gt;"}
    return "".join(escapes.get(char, char) for char in text)


def _render_mermaid(graph: WiringGraph) -> str:
    ids = _NodeIds()
    lines = ["flowchart LR"]
    for plugin in graph.plugins:
        title = _plugin_title(plugin)
        lines.append(f'  subgraph {ids("plugin", plugin.plugin_id)}["{_mermaid_text(title)}"]')
        for init in _inits(plugin):
            label = "<br/>".join(_mermaid_text(line) for line in _label_lines(init))
            style = ":::failed" if init.problem or init.step is None else ""
            lines.append(f'    {ids.init(init)}["{label}"]{style}')
        lines.append("  end")
    for point in graph.extension_points:
        lines.append(f'  {ids("ep", point.id)}{{{{"{_mermaid_text(point.id)}"}}}}')
    order, links = _edges(graph, ids)
    lines.extend(f"  {before} --> {after}" for before, after in order)
    lines.extend(f"  {source} -. {label} .-> {target}" for source, target, label in links)
    lines.append("  classDef failed stroke:#d33,stroke-width:2px")
    lines.extend(f"  %% problem: {_one_line(problem)}" for problem in graph.problems)
    return "\n".join(lines)


def _plugin_title(plugin: PluginInfo) -> str:
    """``plugin '<id>'``, marked when only its modules are installed."""
    title = f"plugin '{plugin.plugin_id}'"
    return title if plugin.plugin is not None else f"{title} (not installed)"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _render_dot(graph: WiringGraph) -> str:
    ids = _NodeIds()
    lines = [
        "digraph di_backend {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica"];',
    ]
    for plugin in graph.plugins:
        title = _plugin_title(plugin)
        lines.append(f"  subgraph {_dot_text('cluster_' + plugin.plugin_id)} {{")
        lines.append(f"    label={_dot_text(title)};")
        for init in _inits(plugin):
            extra = ", color=red" if init.problem or init.step is None else ""
            label = _dot_text("\n".join(_label_lines(init)))
            lines.append(f"    {ids.init(init)} [label={label}{extra}];")
        lines.append("  }")
    for point in graph.extension_points:
        lines.append(f"  {ids('ep', point.id)} [label={_dot_text(point.id)}, shape=hexagon];")
    order, links = _edges(graph, ids)
    lines.extend(f"  {before} -> {after};" for before, after in order)
    lines.extend(
        f"  {source} -> {target} [style=dashed, label={_dot_text(label)}];"
        for source, target, label in links
    )
    lines.extend(f"  // problem: {_one_line(problem)}" for problem in graph.problems)
    lines.append("}")
    return "\n".join(lines)


_RENDERERS: Final[dict[GraphFormat, Callable[[WiringGraph], str]]] = {
    "text": _render_text,
    "mermaid": _render_mermaid,
    "dot": _render_dot,
}


def render(graph: WiringGraph, format: GraphFormat = "text", *, services: bool = False) -> str:
    """Render the wiring.

    Args:
        graph: what :func:`~di_backend.cli._graph_model.build_wiring` returned.
        format: ``text`` (for people), ``mermaid`` (a ``flowchart``) or ``dot`` (Graphviz).
        services: add (to ``text``) the services the inits need and what each needs.

    Returns:
        The rendering, without a trailing newline.
    """
    rendered = _RENDERERS[format](graph)
    if services and format == "text" and graph.services:
        lines = ["", "Services (which service needs which)"]
        for service in graph.services:
            needs = ", ".join(service.needs) or "nothing"
            lines.append(f"  {service.ref} ({service.provider}) needs {needs}")
        rendered += "\n" + "\n".join(lines)
    return rendered
