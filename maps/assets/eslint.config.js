// ESLint (flat config) for the page scripts in maps/static/, run by `./run.sh test`:
//   maps/assets/node_modules/.bin/eslint -c maps/assets/eslint.config.js --max-warnings 0 maps/static
// The page scripts are classic browser scripts (see maps/static/gridgis-common.js for why not
// ES modules) that share one global, GridGIS, and use Leaflet's global L.
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {
    files: ["**/*.js"],
    ignores: ["**/node_modules/**"],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: {...globals.browser, L: "readonly"},
    },
    linterOptions: {reportUnusedDisableDirectives: "error"},
    rules: {
      ...js.configs.recommended.rules,
      "no-implicit-globals": "error",
      "no-unused-vars": ["error", {args: "after-used"}],
      "no-var": "off",
      eqeqeq: ["error", "always"],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-script-url": "error",
      // innerHTML/outerHTML/insertAdjacentHTML/document.write take HTML: build DOM with
      // GridGIS.el()/textContent, or pass text through GridGIS.esc() (one escaping helper).
      "no-restricted-properties": ["error",
        {property: "innerHTML", message: "use GridGIS.el()/textContent, or GridGIS.esc()"},
        {property: "outerHTML", message: "use GridGIS.el()/textContent"},
        {property: "insertAdjacentHTML", message: "use GridGIS.el()/textContent"},
        {object: "document", property: "write", message: "build DOM instead"}],
      // Leaflet puts a string tooltip or popup in as HTML: give it an element (GridGIS.el)
      "no-restricted-syntax": ["error", {
        selector: "CallExpression[callee.property.name=/^(bindTooltip|bindPopup|setContent|" +
          "setTooltipContent|setPopupContent)$/][arguments.0.type=/^(BinaryExpression|" +
          "TemplateLiteral|Literal)$/]",
        message: "Leaflet treats a string as HTML: pass GridGIS.el(...) with the text",
      }],
    },
  },
];
