"""Fits the coefficients of LocallyMasked.Training.Memory.TrainingMemory to measured peaks (measure_peak.sh): a grid
search for the smallest worst relative error. The table rows are the runs of TrainingMemoryTests.MeasuredRuns; the
parameter counts are ModelSize's. Run: python3 fit_memory.py (about 5 s)."""
import itertools, re
def lm_params(F,R,C,Mp,k=3):
    k2=k*k
    conv=lambda i,o: o*i*k2+o
    lin=lambda i,o: o*i+2*o
    blk=lambda s: conv(2*F,F)+conv(2*F,2*F)+(lin(2*F,F) if s else 0)
    return conv(C+1,F)+3*R*blk(False)+(3*R+2)*blk(True)+4*conv(F,F)+lin(F,Mp)
def pp_params(F,R,C,Mp):
    conv=lambda i,o,kh,kw: o*i*kh*kw+2*o
    lin=lambda i,o: o*i+2*o
    def blk(al,sk):
        kw=2 if al else 3
        return conv(2*F,F,2,kw)+conv(2*F,2*F,2,kw)+(lin(2*sk,F) if sk>0 else 0)
    up=R*(blk(False,0)+blk(True,F)); down=lambda b: b*(blk(False,F)+blk(True,2*F))
    return 3*up+down(R)+2*down(R+1)+2*(conv(F,F,2,3)+conv(F,F,2,2))*2+conv(C+1,F,2,3)+conv(C+1,F,1,3)+conv(C+1,F,2,1)+lin(F,Mp)
# label: model F R B HW C Mp orders perbatch finalimages peakMB
runs = """
a1 lm 16 1 16 784 1 2 8 0 16 1005456
a2 lm 16 1 64 784 1 2 8 0 16 1409636
a3 lm 16 1 256 784 1 2 8 0 16 4843376
a4 lm 64 1 64 784 1 2 8 0 16 5115568
a5 lm 32 4 64 784 1 2 8 0 16 6364252
b1 lm 16 1 16 784 1 2 1 0 1 482056
b2 lm 16 1 64 784 1 2 1 0 1 1050844
b3 lm 16 1 16 784 1 2 8 0 1 608640
b4 lm 16 1 16 784 1 2 8 0 64 1091964
c1 lm 32 1 32 784 1 2 1 0 1 1076636
c2 lm 16 3 32 784 1 2 1 0 1 1186088
c3 lm 8 1 16 784 1 300 1 0 1 542412
c4 lm 8 1 16 784 1 15 1 0 1 377596
c5 pp 32 1 32 784 1 2 1 0 1 925076
c6 lm 16 1 16 1024 3 50 1 0 1 505220
c7 lm 64 2 8 784 1 2 1 0 1 1078100
c8 lm 160 1 4 784 1 2 1 0 1 1597676
e1 lm 16 1 1 784 1 2 8 0 64 1109072
e2 lm 32 1 1 784 1 2 8 0 64 1677192
e3 lm 16 1 1 784 1 2 8 0 1 360748
d1 lm 160 1 1 784 1 2 1 0 1 1018280
d3 lm 256 1 1 784 1 2 1 0 1 2055056
d4 lm 96 4 1 784 1 2 1 0 1 1094376
d5 lm 16 1 8 4096 3 50 1 0 1 802324
d6 lm 16 1 8 4096 3 50 8 0 1 1103104
d7 pp 32 1 128 784 1 2 1 0 1 3535844
d8 pp 96 2 8 784 1 2 1 0 1 1565176
d9 lm 16 1 64 784 1 2 8 1 1 1085128
"""
R_ = []
for line in runs.strip().splitlines():
    l,m,F,R,B,HW,C,Mp,o,pb,fi,peak = line.split()
    F,R,B,HW,C,Mp,o,pb,fi = map(int,(F,R,B,HW,C,Mp,o,pb,fi)); peak=int(peak)*1024
    P = lm_params(F,R,C,Mp) if m=='lm' else pp_params(F,R,C,Mp)
    blk = 6*R+2 if m=='lm' else 2*(R*(1+.25+.0625)+R*.0625+(R+1)*1.25)
    ps = m=='lm' and o>1 and not pb
    pairs = min(64, fi*(o if m=='lm' else 1))
    R_.append(dict(l=l,m=m,F=F,B=B,HW=HW,Mp=Mp,P=P,blk=blk,ps=ps,pairs=pairs,o=o,peak=peak))
def predict(r, B0, kp, a, s, app, b, g):
    unit = r['HW']*4
    if r['m']=='lm':
        T = r['B']*unit*(a*(s if r['ps'] else 1)*r['F']*r['blk'] + b*r['Mp'])
        E = r['pairs']*unit*(g*(s if r['o']>1 else 1)/s*r['F']*r['blk'] + b*r['Mp']) if r['pairs']>0 else 0
    else:
        T = r['B']*unit*(app*r['F']*r['blk'] + b*r['Mp'])
        E = r['pairs']*unit*(app*r['F']*r['blk'] + b*r['Mp'])
    return B0 + kp*r['P']*4 + max(T,E)
best=None
import sys
for B0 in [280e6,290e6,300e6]:
  for kp in [12,13,14,15,16]:
    for a in [27,28,29,30]:
      for s in [1.4,1.45,1.5,1.55]:
        for app in [26,28,30,32]:
          for b in [6,7,8,9,10]:
            for g in [26,28,30,32]:
              errs=[predict(r,B0,kp,a,s,app,b,g)/r['peak']-1 for r in R_]
              worst=max(abs(e) for e in errs)
              if best is None or worst<best[0]: best=(worst,(B0,kp,a,s,app,b,g),errs)
print(best[0], best[1])
for r,e in zip(R_,best[2]): print(r['l'], r['m'], f"{r['peak']/2**20:.0f} MiB predicted {predict(r,*best[1])/2**20:.0f} ({e*100:+.0f}%)", r['P'])
