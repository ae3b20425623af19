"""Summary tables for metrics with per-subset keys (``name@subset``)."""
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional

from mmengine.logging import print_log


def split_metric_key(key: str):
    """Split ``'track/AMOTA@boston-seaport'`` into the name and the subset.

    The whole-set subset is called ``'all'``.
    """
    name, _, subset = key.partition('@')
    return name, subset or 'all'


def format_summary_table(metrics: Mapping[str, float], title: str) -> str:
    """Format metrics as a text table: one row per metric, one column per subset.

    Args:
        metrics: Metric key -> value; keys may end with ``@<subset>``.
        title: First line of the table.
    """
    rows: 'OrderedDict[str, Dict[str, float]]' = OrderedDict()
    columns: List[str] = []
    for key, value in metrics.items():
        name, subset = split_metric_key(key)
        rows.setdefault(name, {})[subset] = value
        if subset not in columns:
            columns.append(subset)

    def cell(value: Optional[float]) -> str:
        if value is None:
            return '-'
        if isinstance(value, float) and math.isnan(value):
            return 'nan'
        if isinstance(value, float):
            return f'{value:.4f}'
        return str(value)

    header = ['metric'] + columns
    body = [[name] + [cell(values.get(column)) for column in columns]
            for name, values in rows.items()]
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    lines = [title]
    for row in [header] + body:
        lines.append('  '.join(text.ljust(width) for text, width in zip(row, widths)))
    return '\n'.join(lines)


def log_and_save_summary(metrics: Mapping[str, float], title: str,
                         outfile: Optional[str]) -> None:
    """Log the summary table and, if ``outfile`` is given, save the metrics as JSON."""
    print_log('\n' + format_summary_table(metrics, title), logger='current')
    if outfile is None:
        return
    os.makedirs(osp.dirname(osp.abspath(outfile)), exist_ok=True)
    with open(outfile, 'w') as f:
        json.dump(dict(metrics), f, indent=2)
    print_log(f'Saved the metric summary to {outfile}.', logger='current')
