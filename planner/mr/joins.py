"""Joins as MapReduce: map-side (broadcast) joins fused into the streaming side's map work, or
reduce-side joins with tagged inputs shuffled by the equi-join keys (one reducer when there are none).

A reduce-side join writes one struct column per alias (only the columns the
query reads), so later fragments keep writing `alias.column`.
"""

from __future__ import annotations

from sqlglot import exp

from planner.mr.jobs import Broadcast, MapInput, MapJoinOption, MRJob, Shuffle, SortKey
from planner.mr.sources import IN, Src, q, rs_ops, short, sql, stage_ops

NONDETERMINISTIC = (exp.Rand,)


def tables_of(e: exp.Expression) -> set[str]:
    return {c.table.lower() for c in e.find_all(exp.Column) if c.table}


def plain(e: exp.Expression) -> bool:
    """No subquery, aggregate, window or random: can move between fragments."""
    return e.find(exp.Query, exp.Subquery, exp.AggFunc, exp.Window, *NONDETERMINISTIC) is None


def small_side_options(kind: str, side: str) -> list[tuple[int, str]]:
    """(tag, mode) of each side of a two-input join that may turn out small: a side the join does not
    preserve may be loaded whole (a map join); a preserved side may filter the other side's keys."""
    if kind in ("SEMI", "ANTI") or side == "LEFT":
        return [(1, "join"), (0, "filter")]
    if side == "RIGHT":
        return [(0, "join"), (1, "filter")]
    return [] if side == "FULL" else [(0, "join"), (1, "join")]


def shrink_factor(src: Src) -> float:
    """A guess, without statistics, of map output bytes per input byte: the share of the table's
    columns read, halved by each filter conjunct and each map join (Hive's planner guesses filter
    selectivity the same way when it has no column statistics)."""
    joins = sum(1 for b in src.broadcasts if b.purpose == "map join")
    share = 1.0
    if src.scan is not None and src.scan.sources and src.scan.sources[0].table_columns:
        source = src.scan.sources[0]
        share = min(1.0, max(1, len(source.columns)) / len(source.table_columns))
    return share * src.shrink * 0.5 ** (len(src.where) + joins)


def push_one_side_conditions(acc: Src, item: Src, kind: str, side: str,
                             rest: list[exp.Expression]) -> tuple[Src, Src, list[exp.Expression], list[exp.Expression]]:
    """ON conditions over one side become that side's map-side filter where the join allows it:
    (acc, item, conditions kept for the reducer, conditions pushed).

    A row of a side the join does not preserve that fails such a condition can match nothing, so
    it need not be shuffled: `customer LEFT JOIN orders ON c_custkey = o_custkey AND o_comment NOT
    LIKE ...` filters orders in its map tasks instead of shuffling every o_comment to the reducers.
    The preserved side keeps its rows (they come out with NULLs); for a semi join the left side's
    condition is a filter too, for an anti join it is not (a failing row is output).
    """
    la, ra = set(acc.aliases), set(item.aliases)
    left_ok = side in ("", "RIGHT") and kind != "ANTI"
    right_ok = side in ("", "LEFT")
    keep: list[exp.Expression] = []
    pushed: list[exp.Expression] = []
    to_left: list[str] = []
    to_right: list[str] = []
    for c in rest:
        t = tables_of(c)
        if t and plain(c) and left_ok and t <= la:
            to_left.append(sql(c))
        elif t and plain(c) and right_ok and t <= ra:
            to_right.append(sql(c))
        else:
            keep.append(c)
            continue
        pushed.append(c)
    if to_left:
        acc = acc.copy()
        acc.where += to_left
    if to_right:
        item = item.copy()
        item.where += to_right
    return acc, item, keep, pushed


def join_keyword(kind: str, side: str) -> str:
    if kind in ("SEMI", "ANTI"):
        return f"{kind} JOIN"
    return f"{side} JOIN" if side else "JOIN"


class JoinMixin:
    """Join lowering; the host class provides jobs, names, settings and column pruning."""

    def split_keys(self, left: Src, right: Src, conds: list[exp.Expression]):
        keys: list[tuple[exp.Expression, exp.Expression]] = []
        rest: list[exp.Expression] = []
        la, ra = set(left.aliases), set(right.aliases)
        for c in conds:
            if isinstance(c, exp.EQ) and plain(c):
                ta, tb = tables_of(c.this), tables_of(c.expression)
                if ta and tb and ta <= la and tb <= ra:
                    keys.append((c.this, c.expression))
                    continue
                if ta and tb and ta <= ra and tb <= la:
                    keys.append((c.expression, c.this))
                    continue
            rest.append(c)
        return keys, rest

    def auto_convert(self) -> bool:
        """`hive.auto.convert.join`: map joins by size, at planning and at run time."""
        return (self.setting("hive.auto.convert.join") or "true").lower() == "true"  # type: ignore[attr-defined]

    def broadcastable(self, src: Src) -> bool:
        if src.scan is None or src.stage is not None or len(src.aliases) != 1:
            return False
        alias = next(iter(src.aliases))
        if alias in self.hints:  # type: ignore[attr-defined]
            return True
        return self.auto_convert() and src.size is not None and src.size <= self.small_limit  # type: ignore[attr-defined]

    def broadcast_text(self, src: Src) -> tuple[str, Broadcast]:
        alias = next(iter(src.aliases))
        b = Broadcast(self.new_name("__b"), alias, scan=src.scan)  # type: ignore[attr-defined]
        text = src.from_sql.replace(IN, q(b.name))
        if src.where:
            text = f"(SELECT * FROM {text}{src.where_sql()}) AS {q(alias)}"
        return text, b

    def join(self, acc: Src, item: Src, kind: str, side: str, conds: list[exp.Expression],
             extra: list[Broadcast]) -> Src:
        keys, rest = self.split_keys(acc, item, conds)
        acc, item, rest, pushed = push_one_side_conditions(acc, item, kind, side, rest)
        # keys and pushed conditions are evaluated by the inputs' map work, on their own rows
        for e in [e for pair in keys for e in pair] + pushed:
            self.consume(e)  # type: ignore[attr-defined]
        on = [f"{sql(a)} = {sql(b)}" for a, b in keys] + [sql(c) for c in rest]
        on_sql = " AND ".join(f"({c})" for c in on) if on else "TRUE"
        kind_label = (f"{side.title()} Outer Join" if side else
                      {"SEMI": "Left Semi Join", "ANTI": "Left Anti Join"}.get(kind, "Inner Join"))
        key_lines = ["  keys:", f"    0 {', '.join(sql(a) for a, _ in keys) or '(none)'}",
                     f"    1 {', '.join(sql(b) for _, b in keys) or '(none)'}"]
        semi = kind in ("SEMI", "ANTI")
        # map join: the small side loaded whole by every map task of the other side
        if self.broadcastable(item) and side in ("", "LEFT"):
            text, b = self.broadcast_text(item)
            out = acc.copy()
            out.from_sql = f"{acc.from_sql} {join_keyword(kind, side)} {text} ON {on_sql}"
            if not semi:
                out.aliases.update(item.aliases)
            out.broadcasts += item.broadcasts + [b]
            out.deps += item.deps
            out.ops += ["Map Join Operator", "  condition map:", f"       {kind_label} 0 to 1", *key_lines,
                        f"  small table: {b.alias} ({item.scan.table if item.scan else ''}, loaded whole)"]
            return out
        if not semi and side in ("", "RIGHT") and self.broadcastable(acc):
            text, b = self.broadcast_text(acc)
            out = item.copy()
            out.from_sql = f"{item.from_sql} {'LEFT JOIN' if side == 'RIGHT' else 'JOIN'} {text} ON {on_sql}"
            out.aliases.update(acc.aliases)
            out.broadcasts += acc.broadcasts + [b]
            out.deps += acc.deps
            out.ops += ["Map Join Operator", "  condition map:",
                        f"       {'Left Outer Join' if side == 'RIGHT' else 'Inner Join'} 0 to 1", *key_lines,
                        f"  small table: {b.alias} ({acc.scan.table if acc.scan else ''}, loaded whole)"]
            return out
        return self.reduce_join(acc, item, kind, side, keys, rest, kind_label, key_lines, extra)

    def reduce_join(self, acc: Src, item: Src, kind: str, side: str, keys, rest, kind_label: str,
                    key_lines: list[str], extra: list[Broadcast]) -> Src:
        k_cols = [f"__k{i}" for i in range(len(keys))]
        shuffle = Shuffle("hash" if keys else "single", list(k_cols), [SortKey(c) for c in k_cols])
        inputs, packs = [], []
        for tag, src in enumerate((acc, item)):
            items, aliases = self.pack(src)  # type: ignore[attr-defined]
            packs.append(aliases)
            kitems = [f"{sql(pair[tag])} AS {q(c)}" for pair, c in zip(keys, k_cols)]
            map_sql = f"SELECT {', '.join(items + kitems)} FROM {src.from_sql}{src.where_sql()}"
            ops = list(src.ops)
            if src.where:
                ops += ["Filter Operator", f"  predicate: {short(' AND '.join(src.where))}"]
            ops.append(rs_ops(shuffle, list(aliases), tag))
            inputs.append(MapInput(tag, src.label or ",".join(src.aliases), map_sql, scan=src.scan,
                                   from_stage=src.stage, operators=ops))
        semi = kind in ("SEMI", "ANTI")
        cols = [f'"__l".{q(a)}' for a in packs[0]] + ([] if semi else [f'"__r".{q(a)}' for a in packs[1]])
        aliases = dict(packs[0]) if semi else {**packs[0], **packs[1]}
        cond = [f'"__l".{q(c)} = "__r".{q(c)}' for c in k_cols] + [f"({sql(c)})" for c in rest]
        reduce_sql = (f"SELECT {', '.join(cols) or 'TRUE AS __none'} FROM \"__input0\" AS \"__l\" "
                      f"{join_keyword(kind, side)} \"__input1\" AS \"__r\" ON {' AND '.join(cond) or 'TRUE'}")
        name = self.new_name("__j")  # type: ignore[attr-defined]
        options = [MapJoinOption(t, shrink_factor((acc, item)[t]), mode)
                   for t, mode in small_side_options(kind, side) if keys or mode == "join"] if self.auto_convert() else []
        job = self.add_job(MRJob(  # type: ignore[attr-defined]
            stage="", inputs=inputs, shuffle=shuffle, reduce_sql=reduce_sql,
            broadcasts=acc.broadcasts + item.broadcasts + extra, depends_on=acc.deps + item.deps,
            num_reducers=1 if not keys else self.reducers(),  # type: ignore[attr-defined]
            map_join_options=options,
            reduce_operators=["Join Operator", "  condition map:", f"       {kind_label} 0 to 1", *key_lines]
            + ([f"  residual: {short(' AND '.join(sql(c) for c in rest))}"] if rest else [])))
        return Src(f"{IN} AS {q(name)}", aliases, stage=job.stage, deps=[job.stage], label=name,
                   ops=stage_ops(name, job.stage))
