import sys, json, math, time; sys.path.insert(0,'.'); sys.path.insert(0,'evals')
import numpy as np
from pathlib import Path
from llama_cpp import Llama, LogitsProcessorList
from models.gguf import resolve_gguf
from replay import load_records, replay_records, without
from chat.evaluate import load_questions
from chat.eval_metrics import judge
S='/work/shared/external/squad2'
name,res,qf,corpus=sys.argv[1:5]
llm = Llama(model_path=str(resolve_gguf(None, Path.home()/'.local/share/seedqa')), n_ctx=2048, n_threads=2, n_batch=512, verbose=False, seed=0)
tok=lambda s: llm.tokenize(s.encode(), add_bos=False, special=False)
YES=[tok(w)[0] for w in ("yes","Yes"," yes"," Yes")]; NO=[tok(w)[0] for w in ("no","No"," no"," No")]
def p_yes(text, question, answer):
    rec={}
    def proc(ids, scores):
        s=np.asarray(scores,dtype=np.float64); m=s.max(); p=np.exp(s-m); p/=p.sum()
        rec['y']=float(p[YES].sum()); rec['n']=float(p[NO].sum()); return scores
    msgs=[{"role":"system","content":"You check whether a text answers a question. Reply with one word: yes or no."},
          {"role":"user","content":f"Text: {text}\n\nQuestion: {question}\nProposed answer: {answer}\n\nDoes the text state this answer to this exact question? Reply yes or no."}]
    list(llm.create_chat_completion(messages=msgs, max_tokens=1, temperature=0, top_k=1, stream=True, logits_processor=LogitsProcessorList([proc])))
    return rec['y']/(rec['y']+rec['n']+1e-12)
Q={q.id:q for q in load_questions(Path(qf))}
out=[]
t0=time.time()
for rec,result,checked in replay_records(load_records(Path(res)), Path(corpus), checks=without({'confident','grounded','answers_the_form'})):
    if checked is None or checked.draft is None or result.answer.refused: continue
    d=checked.draft; q=Q[rec['id']]
    quotes=' '.join(s.quote or '' for s in d.sentences if s.supported) or ' '.join(d.passages[n-1].chunk.text for n in d.supporting)
    from chat.citations import strip_markers
    py=p_yes(quotes, d.question, strip_markers(d.text))
    out.append({'id':rec['id'],'answerable':q.answerable,'correct':judge(q,result.answer).correct,'p_yes':py})
print('per item s', (time.time()-t0)/len(out))
json.dump(out, open(f'var/verify-{name}.json','w'))
def auc(pos,neg):
    return sum(1 if p>n else .5 if p==n else 0 for p in pos for n in neg)/len(pos)/len(neg)
print(name, 'AUC answerable', auc([o['p_yes'] for o in out if o['answerable']],[o['p_yes'] for o in out if not o['answerable']]),
      'AUC correct', auc([o['p_yes'] for o in out if o['correct']],[o['p_yes'] for o in out if not o['correct']]))
