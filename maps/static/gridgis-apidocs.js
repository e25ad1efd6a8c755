// Starts Swagger UI (/docs) or ReDoc (/redoc) on the element #api-docs: a file of our own so
// that the pages run under the Content-Security-Policy without inline script (api/csp.py).
// The bundles are the pinned npm packages swagger-ui-dist and redoc (api/pages/apidocs.py).
(function () {
  "use strict";
  var root = document.getElementById("api-docs");
  var url = root.getAttribute("data-openapi-url");
  if (root.getAttribute("data-kind") === "redoc") {
    // search runs in a blob: web worker, which the policy does not allow
    window.Redoc.init(url, { disableSearch: true }, root);
  } else {
    window.SwaggerUIBundle({
      url: url,
      domNode: root,
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  }
})();
