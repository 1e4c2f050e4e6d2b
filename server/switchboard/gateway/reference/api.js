// Renders /api/v1/openapi.json with the vendored Swagger UI (README.md says where it comes from).
"use strict";

window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Never send the document to the public validator: the page talks only to this server.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
