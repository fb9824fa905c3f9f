"""An import-linter contract type import-linter lacks: no import loop anywhere among the given packages.

`acyclic_siblings` only compares siblings inside one package; the loop this guards against ran across
packages (tui.screens.main -> newswatch.refresh -> newswatch.cli -> tui.app). Every import counts, a
function-level one too: a lazy import still makes one module need the other. Imports under
`if TYPE_CHECKING:` are left out by the root option `exclude_type_checking_imports`.
"""

from __future__ import annotations

from collections import deque

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class AcyclicContract(Contract):
    type_name = "acyclic"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules: set[str] = set()
        for package in self.packages:  # type: ignore[attr-defined]
            modules |= {package, *graph.find_descendants(package)}
        imports = {
            module: sorted(graph.find_modules_directly_imported_by(module) & modules) for module in modules
        }
        loops = [_shortest_loop(group, imports) for group in _loops(imports)]
        return ContractCheck(kept=not loops, metadata={"loops": sorted(loops)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for loop in check.metadata["loops"]:
            output.print_error(" -> ".join(loop), bold=False)
            output.new_line()


def _loops(imports: dict[str, list[str]]) -> list[set[str]]:
    """Groups of modules that import each other (Tarjan's strongly connected components, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(imports[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(imports[target])))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def _shortest_loop(group: set[str], imports: dict[str, list[str]]) -> tuple[str, ...]:
    """One concrete loop through the group, from its first module back to it, for the error message."""
    start = min(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in imports[module]:
            if target == start:
                path = [module]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return (*reversed(path), start)
            if target in group and target not in came_from:
                came_from[target] = module
                queue.append(target)
    return tuple(sorted(group))
