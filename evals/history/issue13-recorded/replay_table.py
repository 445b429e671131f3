import sys, json; sys.path.insert(0,'.'); sys.path.insert(0,'evals')
from pathlib import Path
from replay import replay, without
from chat.checks.confidence import Calibration
S='/work/shared/external/squad2'
SETS={'ref':('evals/questions.jsonl','/work/snap/seeds'),'hold':('evals/holdout.jsonl','/work/snap/seeds'),'ext':(S+'/questions.jsonl',S+'/corpus'),
      'fit':('var/squad-dev/fit.jsonl',S+'/corpus'),'check':('var/squad-dev/check.jsonl',S+'/corpus')}
prefix=sys.argv[1]; configs=[a for a in sys.argv[2:] if not a.startswith('--')]
keys=("accuracy","citation_precision","refusal_recall","false_refusal_rate","accuracy_all")
print(f"{'set':6s} {'config':28s} "+" ".join(f"{k[:10]:>10s}" for k in keys))
for name,(q,c) in SETS.items():
    path=Path(f'var/runs/{prefix}-{name}/verified.jsonl')
    if not path.exists() or '--raw' in sys.argv: path=Path(f'var/runs/{prefix}-{name}/results.jsonl')
    if not path.exists(): continue
    for cfg in configs:
        skip, _, cal = cfg.partition('@')
        model = Calibration.from_dict(json.load(open(cal))) if cal else None
        s=replay(path, Path(q), Path(c), checks=without(set(filter(None, skip.split(','))), model))
        m=s['metrics']
        print(f"{name:6s} {cfg[:28]:28s} "+" ".join(f"{m[k]['value'] if m[k]['value'] is not None else -1:10.3f}" for k in keys), s['rejections'] if '-v' in sys.argv else '')
