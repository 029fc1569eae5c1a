// The index reads each page's summary script ({study}.summary.js, window.DLREPRO_SUMMARY)
// and fills in the verdict counts and compute time, so a page rebuild never rebuilds the index.
(function(){
  var S=window.DLREPRO_SUMMARY||{};
  function fmt(s){if(s==null)return '—';if(s<60)return s.toFixed(1)+' s';var m=Math.round(s/60);
    return m<60?m+' min':Math.floor(m/60)+' h '+(m%60)+' min';}
  Array.prototype.forEach.call(document.querySelectorAll('tr[data-study]'),function(tr){
    var s=S[tr.getAttribute('data-study')];var v=tr.querySelector('.verdicts'),c=tr.querySelector('.compute');
    if(!s){v.textContent='page not built yet';return;}
    v.innerHTML='';['match','explained','differs','missing','illegible'].forEach(function(k){
      if(s.verdicts[k]){var b=document.createElement('span');b.className='badge v-'+k;b.textContent=k+' '+s.verdicts[k];
        v.appendChild(b);v.appendChild(document.createTextNode(' '));}});
    tr.querySelector('.n-printed').textContent=s.n_printed;
    if(!s.n_printed)v.textContent='no printed numbers';
    var cl=s.claims||{n:0};
    tr.querySelector('.claims').textContent=cl.n?(cl.hold_on_writeup+' / '+cl.hold_on_ours+' of '+cl.n):'—';
    c.textContent=fmt(s.compute_s);
    if(s.synthetic)tr.querySelector('.title').insertAdjacentHTML('beforeend',' <span class="badge v-differs">synthetic</span>');
  });
})();
