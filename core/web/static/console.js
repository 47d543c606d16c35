// Progressive enhancement for the console. Every page works without this file: mapping has a
// select and a button per outlet, and the forms post normally.
(function () {
  "use strict";

  // Drag an outlet (from its row) onto a warehouse: fill the hidden map form and submit it, so a
  // drop does exactly what the keyboard's "Map" button does (same endpoint, same refusals).
  function initMapping(root) {
    if (typeof Sortable === "undefined") return;
    var scope = root.querySelectorAll ? root : document;
    scope.querySelectorAll(".drag-source").forEach(function (el) {
      if (el.dataset.sortable) return;
      el.dataset.sortable = "1";
      Sortable.create(el, {
        group: { name: "locations", pull: "clone", put: false },
        sort: false,
        animation: 120,
      });
    });
    scope.querySelectorAll(".dropzone").forEach(function (zone) {
      if (zone.dataset.sortable) return;
      zone.dataset.sortable = "1";
      Sortable.create(zone, {
        group: { name: "locations", pull: false, put: true },
        sort: false,
        onAdd: function (evt) {
          var form = document.getElementById("drop-form");
          if (!form) return;
          form.elements.outlet.value = evt.item.dataset.outlet || "";
          form.elements.warehouse.value = zone.dataset.warehouse || "";
          zone.classList.add("pending");
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        },
      });
    });
  }

  // A switch that needs another (include_assembled needs export_stock) follows it live; the
  // server refuses the combination anyway, with the CLI's message.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches(".settings-form input[type=checkbox]")) return;
    document.querySelectorAll('.settings-form [data-requires="' + box.name + '"]').forEach(function (dep) {
      dep.disabled = !box.checked;
      if (!box.checked) dep.checked = false;
    });
  });

  if (window.htmx) {
    htmx.onLoad(initMapping); // the first page and every page htmx swaps in
  } else {
    document.addEventListener("DOMContentLoaded", function () { initMapping(document); });
  }
})();
