/* Text that Plotly draws (trace names, tick labels, hover labels) is pseudo-HTML to Plotly: it
   obeys <b>, <a href>, <span style>. Names come from users (the fleet's, racks', hosts' and VMs'
   of an uploaded scenario, run names), so they are escaped before Plotly sees them; Plotly turns
   the entities back into characters, so a name shows exactly as typed, never as markup. */
window.plotText = function (value) {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
};
