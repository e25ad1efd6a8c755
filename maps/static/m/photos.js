// GridGIS officer app: photos resized on the phone before they are queued (a camera's 12 MP
// picture becomes a JPEG of about 200-400 KB): decoded with createImageBitmap (turned upright
// by its EXIF orientation), drawn on a canvas whose longest side is at most config.photo_px,
// encoded as JPEG. No library needed.
(function (global) {
  "use strict";

  var M = global.GridGISMobile;
  var QUALITY = 0.85;

  // resize(file) -> Promise<Blob image/jpeg>
  M.resizePhoto = async function (file) {
    var maxPx = M.config.photo_px;
    var bitmap = await global.createImageBitmap(file, {imageOrientation: "from-image"});
    var scale = Math.min(1, maxPx / Math.max(bitmap.width, bitmap.height));
    var canvas = global.document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (bitmap.close) { bitmap.close(); }
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        if (blob) { resolve(blob); } else { reject(new Error("JPEG encoding failed")); }
      }, "image/jpeg", QUALITY);
    });
  };

  // A photo picker: resized blobs with thumbnails (and a × to drop one), at most config.max_photos.
  M.photoPicker = function (input, previews, onError) {
    var blobs = [];
    function draw() {
      previews.textContent = "";
      blobs.forEach(function (blob, i) {
        var box = M.el("span", "ggm-thumb");
        var img = M.el("img");
        img.src = global.URL.createObjectURL(blob);
        img.alt = String(i + 1);
        img.addEventListener("load", function () { global.URL.revokeObjectURL(img.src); });
        var drop = M.el("button", "ggm-thumb-drop", "×");
        drop.type = "button";
        drop.addEventListener("click", function () { blobs.splice(i, 1); draw(); });
        box.appendChild(img);
        box.appendChild(drop);
        previews.appendChild(box);
      });
    }
    input.addEventListener("change", async function () {
      var files = Array.prototype.slice.call(input.files || []);
      input.value = "";
      for (var i = 0; i < files.length; i++) {
        if (blobs.length >= M.config.max_photos) {
          onError(M.t("too_many", {n: M.config.max_photos}));
          break;
        }
        try {
          blobs.push(await M.resizePhoto(files[i]));
        } catch (e) {
          onError(String(e.message || e));
        }
      }
      draw();
    });
    return {
      blobs: function () { return blobs.slice(); },
      clear: function () { blobs = []; draw(); },
    };
  };
})(window);
