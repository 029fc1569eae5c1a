// Every page checks itself on load: broken images, tables without rows, resources that
// failed. The result lands in <body data-check="{json}"> (read by the browser check via
// chromium --dump-dom, dlrepro/site/browser.py) and, on a failure, in a red bar on the page.
(function(){
  var errors=[];
  window.addEventListener('error',function(e){var t=e.target||{};
    errors.push(String(t.src||t.href||e.message||'error'));},true);
  window.addEventListener('load',function(){
    var imgs=Array.prototype.slice.call(document.images);
    var broken=imgs.filter(function(i){return !(i.complete&&i.naturalWidth>0);})
                   .map(function(i){return i.getAttribute('src');});
    var tables=Array.prototype.slice.call(document.querySelectorAll('table[data-expect]'));
    var missing=tables.filter(function(t){return t.querySelectorAll('tbody tr').length===0;})
                      .map(function(t){return t.getAttribute('data-expect');});
    var res={loaded:true,title:document.title,images:imgs.length,broken_images:broken,
             tables:tables.length,missing_tables:missing,errors:errors,
             height:Math.max(document.body.scrollHeight,document.documentElement.scrollHeight)};
    document.body.setAttribute('data-check',JSON.stringify(res));
    if(broken.length||missing.length||errors.length){
      var b=document.createElement('div');b.className='check-failed';
      b.textContent='Page check failed: '+broken.length+' broken image(s), '+missing.length+
        ' missing table(s), '+errors.length+' failed resource(s).';
      document.body.insertBefore(b,document.body.firstChild);}
  });
})();
