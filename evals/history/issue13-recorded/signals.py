import sys, json, math, collections; sys.path.insert(0,'.'); sys.path.insert(0,'evals')
from pathlib import Path
from replay import load_records, replay_records, without
from chat.checks.confidence import features
from chat.checks.words import terms, pins, Vocabulary
from chat.evaluate import load_questions
from chat.eval_metrics import judge
from index.keyword import tokenize
S='/work/shared/external/squad2'
def corpus_idf(folder):
    docs=[]
    for f in Path(folder).glob('*.txt'):
        for para in f.read_text().split('\n\n'):
            docs.append(set(terms(para)))
    df=collections.Counter(t for d in docs for t in d)
    N=len(docs)
    return lambda t: math.log(1+(N-df[t]+.5)/(df[t]+.5))
def auc(pos, neg):
    if not pos or not neg: return float('nan')
    s=0
    for p in pos:
        for n in neg: s+= 1 if p>n else .5 if p==n else 0
    return s/len(pos)/len(neg)
allrows=collections.defaultdict(list)
for name,res,qf,corpus in [('fit','var/runs/base-fit/results.jsonl','var/squad-dev/fit.jsonl',S+'/corpus'),('ext','var/runs/base-ext/results.jsonl',S+'/questions.jsonl',S+'/corpus')]+([('ref','var/runs/base-ref/results.jsonl','evals/questions.jsonl','seeds')] if Path('var/runs/base-ref/results.jsonl').exists() else []):
    idf=corpus_idf(corpus)
    Q={q.id:q for q in load_questions(Path(qf))}
    for rec,result,checked in replay_records(load_records(Path(res)), Path(corpus), checks=without({'confident','grounded','answers_the_form'})):
        if checked is None or checked.draft is None or result.answer.refused: continue
        d=checked.draft; f=features(d)
        q=Q[rec['id']]
        asked=terms(d.question)
        sup=d.supporting
        ptext=' '.join(d.passages[n-1].chunk.text for n in sup)
        pt=terms(ptext)
        miss=[t for t in asked if t not in pt]
        f['idf_cov']=sum(idf(t) for t in asked if t in pt)/max(1e-9,sum(idf(t) for t in asked))
        f['miss_max_idf']=-max([idf(t) for t in miss], default=0)
        quotes=' '.join(s.quote or '' for s in d.sentences if s.supported)
        qt=terms(quotes)
        f['sent_cov']=len(asked&qt)/max(1,len(asked))
        f['sent_idf_cov']=sum(idf(t) for t in asked if t in qt)/max(1e-9,sum(idf(t) for t in asked))
        f['pins_any']=float(f['pins_found']==1.0)
        allrows[name].append((f, q.answerable, judge(q,result.answer).correct))
for name, rows in allrows.items():
    print(name, len(rows), 'answerable', sum(a for _,a,_ in rows))
    for k in rows[0][0]:
        pos=[f[k] for f,a,_ in rows if a]; neg=[f[k] for f,a,_ in rows if not a]
        posc=[f[k] for f,a,c in rows if c]; negc=[f[k] for f,a,c in rows if not c]
        print(f"   {k:16s} AUC(answerable) {auc(pos,neg):.3f}  AUC(correct) {auc(posc,negc):.3f}")
