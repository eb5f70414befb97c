"""Chart specifications for the report pages: plain data the page's Chart.js module draws
(keystage/static/keystage/charts.js). Each chart has a table beside it with the same figures,
and a text summary for screen readers."""

from __future__ import annotations

from keystage.measures import primary


def report_bars(rows: list[list], measure: str) -> dict | None:
    """Bars of one measure: the LA and each school (or group) with its interval."""
    labels, values, intervals = [], [], []
    for r in rows:
        if r[2] != measure or r[11] == "Y" or r[10] == "":
            continue
        if r[3] == "la" and r[6] == "all":
            labels.append("LA")
        elif r[3] == "national" and r[6] == "all":
            labels.append("National")
        elif r[3] == "school":
            labels.append(str(r[5]))
        elif r[6] != "all":
            labels.append(f"{r[6]}: {r[7]}" + (" (national)" if r[3] == "national" else ""))
        else:
            continue
        values.append(float(r[10]))
        intervals.append([float(r[12]), float(r[13])] if r[12] != "" else None)
    if not values:
        return None
    # Schools ranked, highest first; the LA and national bars stay on top.
    fixed = [i for i, label in enumerate(labels) if label in ("LA", "National")]
    ranked = sorted((i for i in range(len(labels)) if i not in fixed),
                    key=lambda i: -values[i])
    order = fixed + ranked
    labels = [labels[i] for i in order]
    values = [values[i] for i in order]
    intervals = [intervals[i] for i in order]
    found = next((m for m in primary.MEASURES if m.code == measure and m.dataset == rows[0][0]),
                 None)
    label = found.label if found else measure
    axis = "%" if found and found.kind == "pct" else "score"
    summary = (f"{label}: {len(values)} bars, from {min(values):g} to {max(values):g}. The table "
               "below gives every figure and its interval.")
    return {"kind": "bars", "label": label, "axis": axis, "labels": labels, "values": values,
            "intervals": intervals, "summary": summary, "height": 120 + 28 * len(values)}


def ks4_scatter(pupils: list[dict], *, links: bool) -> dict | None:
    """KS2 prior attainment against Attainment 8, a point per pupil (a link where allowed)."""
    points = [{"x": p["ks2_prior"], "y": p["a8"], "name": p["name"],
               **({"url": p["url"]} if links else {})}
              for p in pupils if p.get("ks2_prior") is not None]
    if not points:
        return None
    return {"kind": "scatter", "label": "Pupils", "x": "KS2 prior attainment (mean scaled score)",
            "y": "Attainment 8", "points": points, "height": 420,
            "summary": f"{len(points)} pupils: KS2 prior attainment against Attainment 8. The "
                       "table below lists each pupil."}


def ks5_scatter(students: list[dict], *, links: bool) -> dict | None:
    """KS4 prior attainment against A level points per entry, a point per student."""
    points = [{"x": round(s["prior"], 2), "y": round(s["aps"], 1), "name": s["name"],
               **({"url": s["url"]} if links else {})}
              for s in students if s.get("prior") is not None and s.get("aps") is not None]
    if not points:
        return None
    return {"kind": "scatter", "label": "Students",
            "x": "KS4 prior attainment (average point score)",
            "y": "A level points per entry", "points": points, "height": 420,
            "summary": f"{len(points)} students: KS4 prior attainment against A level points "
                       "per entry. The table below lists each student."}


def trend_line(trend: list[dict], measure: str) -> dict | None:
    """A measure's LA, emerging national and published national figures over the years."""
    found = next((t for t in trend if t["measure"] == measure), None)
    if found is None:
        return None
    years = [c["year"] for c in found["years"]]

    def series(key: str) -> list:
        return [float(c[key]) if c[key] != "" else None for c in found["years"]]

    lines = [{"label": label, "data": series(key)} for label, key in
             (("LA", "la"), ("Emerging national", "national"), ("Published national",
                                                                "published"))]
    lines = [line for line in lines if any(v is not None for v in line["data"])]
    if not lines:
        return None
    return {"kind": "line", "label": found["label"], "years": [str(y) for y in years],
            "lines": lines, "height": 320,
            "summary": f"{found['label']} over {years[0]}-{years[-1]}: "
                       + "; ".join(f"{line['label']} "
                                   + ", ".join("no data" if v is None else f"{v:g}"
                                               for v in line["data"]) for line in lines)
                       + ". The trend table gives the same figures."}


def disadvantage_chart(schools: list[dict], label: str) -> dict | None:
    """Schools' attainment against their share of disadvantaged pupils, a point per school."""
    if not schools:
        return None
    points = [{"x": s["x"], "y": s["y"], "name": f"{s['laestab']} ({s['pupils']} pupils)"}
              for s in schools]
    return {"kind": "scatter", "label": "Schools", "points": points, "height": 420,
            "x": "Disadvantaged pupils (%)", "y": label,
            "summary": f"{label} of {len(points)} schools against their share of disadvantaged "
                       "pupils. The table below lists each school."}
