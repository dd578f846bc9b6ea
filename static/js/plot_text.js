/* Text that Plotly draws (trace names, tick labels, hover labels) is pseudo-HTML to Plotly: it
   obeys <b>, <a href>, <span style>. Names come from users (the fleet's, racks', hosts' and VMs'
   of an uploaded scenario, run names), so they are escaped before Plotly sees them; Plotly turns
   the entities back into characters, so a name shows exactly as typed, never as markup. */
window.plotText = function (value) {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
};

/* A log axis whose ticks read cleanly: one labelled tick per power of ten ("0.001", "0.01", ...,
   "10,000"), not Plotly's default labelled minor ticks ("10k 5 2 1000 5 2"). Minor ticks stay
   as unlabelled marks. Spread over any axis settings: logAxis({title: ..., range: [-3, 1.5]}). */
window.logAxis = function (axis) {
  return Object.assign(
    {type: "log", dtick: 1, exponentformat: "none", separatethousands: true, minor: {ticks: "outside", dtick: "D1", ticklen: 3}},
    axis || {});
};

/* An axis of counts (VMs, migrations): whole numbers only, with thousands separators. Over a
   span of less than about ten Plotly ticks every 0.5 or 0.2 ("0.5", "1.5"; formatted as
   integers, "0 0 1 1 2"), so there the step is 1 (2 above five); from ten up its own step is
   1 or more. ``traces``: what the axis shows, to find its top (stacked traces summed).
   Spread over any axis settings: countAxis({title: ...}, traces). */
window.countTop = function (traces) {
  let top = 0;
  const stacked = [];
  for (const t of traces || []) {
    (t.y || []).forEach((v, i) => {
      if (t.stackgroup) stacked[i] = (stacked[i] || 0) + (v || 0);
      else if (v > top) top = v;
    });
  }
  for (const v of stacked) if (v > top) top = v;
  return top;
};
window.countAxis = function (axis, traces) {
  const top = window.countTop(traces);
  const step = top >= 10 ? {} : {dtick: top > 5 ? 2 : 1, tick0: 0};
  return Object.assign({tickformat: ",d", rangemode: "tozero"}, step, axis || {});
};
