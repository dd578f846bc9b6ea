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
