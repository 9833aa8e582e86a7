"""Triangle meshes drawn over images: a small z-buffered rasteriser with flat Lambert shading (NumPy),
MMPose 0.x's ``imshow_mesh_3d`` (there through pyrender) and a front + side view of an HMR result
(MMPose 0.x ``ParametricMesh.show_result``).

Conventions: vertices are in the camera frame (OpenCV: x right, y down, z forward, z > 0 visible); a
vertex projects to ``(fx X / Z + cx, fy Y / Z + cy)`` pixels with pixel centres at integer coordinates.
Images are OpenCV's BGR ``HWC uint8``; colours are BGR.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

__all__ = ["rasterize_mesh", "shade_faces", "imshow_mesh_3d", "draw_mesh_result", "mesh_in_image_camera",
           "draw_mesh_on_image", "MESH_COLOR"]

#: MMPose 0.x's default mesh colour.
MESH_COLOR = (76, 76, 204)

_NEAR = 1e-6
_SMALL_BOX = 8  # triangles whose clipped bounding box fits in 8 x 8 pixels are rasterised together


def _cover(tri_uv: np.ndarray, tri_z: np.ndarray, px: np.ndarray, py: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Which pixel centres ``px``, ``py`` [n, ...] lie in the triangles ``tri_uv`` [n, 3, 2] (edges
    included, either winding) and the perspective-correct depth there (linear in 1 / z; ``tri_z`` [n, 3])."""
    expand = (slice(None),) + (None,) * (px.ndim - 1)
    ax, bx, qx = (tri_uv[:, i, 0][expand] for i in range(3))
    ay, by, qy = (tri_uv[:, i, 1][expand] for i in range(3))
    area = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
    degenerate = np.abs(area) < 1e-12
    area = np.where(degenerate, 1.0, area)
    # barycentric weights of the pixel centres from the edge functions
    w0 = ((bx - px) * (qy - py) - (by - py) * (qx - px)) / area
    w1 = ((qx - px) * (ay - py) - (qy - py) * (ax - px)) / area
    w2 = 1.0 - w0 - w1
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & ~degenerate
    za, zb, zc = (tri_z[:, i][expand] for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        pixel_depth = 1.0 / (w0 / za + w1 / zb + w2 / zc)
    return inside, pixel_depth


def _array(name: str, value: Any, ndim: int, last: int, dtype=np.float64) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim != ndim or arr.shape[-1] != last:
        raise ValueError(f"{name} must be [{', '.join(['N'] * (ndim - 1) + [str(last)])}], got shape {arr.shape}")
    return arr


def _pair(name: str, value: Union[float, Sequence[float]]) -> Tuple[float, float]:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        return float(arr[0]), float(arr[0])
    if arr.size != 2:
        raise ValueError(f"{name} must be one number or two, got {value!r}")
    return float(arr[0]), float(arr[1])


def rasterize_mesh(vertices: Any, faces: Any, focal_length: Union[float, Sequence[float]],
                   camera_center: Sequence[float], image_size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Z-buffer a triangle mesh: the nearest face and its depth at every pixel centre.

    Depth is interpolated perspective-correctly (linear in 1/z). Faces with a vertex at ``z <= 0`` are
    skipped (no clipping). Both windings are drawn. Deterministic: each pixel takes the nearest face, the
    lowest face index among equally near ones. Small triangles (the bulk of a body mesh) are rasterised
    together in NumPy, larger ones one at a time.

    Args:
        vertices (ndarray[V, 3]): camera-frame vertices.
        faces (ndarray[F, 3] int): vertex indices.
        focal_length (float | (fx, fy)): in pixels.
        camera_center (Sequence[float]): principal point (cx, cy) in pixels.
        image_size (tuple[int, int]): (w, h).

    Returns:
        tuple: ``depth`` ndarray[h, w] float64 (``inf`` where empty) and ``face_index`` ndarray[h, w] int64
        (-1 where empty).
    """
    verts = _array("vertices", vertices, 2, 3)
    tris = _array("faces", faces, 2, 3, dtype=np.int64)
    if tris.size and (tris.min() < 0 or tris.max() >= len(verts)):
        raise ValueError(f"faces index vertices outside [0, {len(verts)})")
    w, h = (int(s) for s in image_size)
    if w <= 0 or h <= 0:
        raise ValueError(f"image_size must be positive (w, h), got {image_size!r}")
    fx, fy = _pair("focal_length", focal_length)
    cx, cy = _pair("camera_center", camera_center)
    depth = np.full((h, w), np.inf)
    face_index = np.full((h, w), -1, dtype=np.int64)
    z = verts[:, 2]
    safe_z = np.where(z > _NEAR, z, 1.0)
    uv = np.stack([fx * verts[:, 0] / safe_z + cx, fy * verts[:, 1] / safe_z + cy], axis=1)
    tri_uv = uv[tris]  # [F, 3, 2]
    tri_z = z[tris]  # [F, 3]
    lo = np.floor(tri_uv.min(axis=1)).astype(np.int64)
    hi = np.ceil(tri_uv.max(axis=1)).astype(np.int64)
    visible = (tri_z > _NEAR).all(axis=1) & (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < w) & (lo[:, 1] < h)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [w - 1, h - 1])
    extent = hi - lo + 1  # bounding boxes clipped to the image, in pixels
    small = visible & (extent <= _SMALL_BOX).all(axis=1)
    for f in np.flatnonzero(visible & ~small):  # large triangles one by one
        (x0, y0), (x1, y1) = lo[f], hi[f]
        px, py = np.meshgrid(np.arange(x0, x1 + 1, dtype=np.float64), np.arange(y0, y1 + 1, dtype=np.float64))
        inside, pixel_depth = _cover(tri_uv[f][None], tri_z[f][None], px[None], py[None])
        region = depth[y0:y1 + 1, x0:x1 + 1]
        nearer = inside[0] & (pixel_depth[0] < region)
        region[nearer] = pixel_depth[0][nearer]
        face_index[y0:y1 + 1, x0:x1 + 1][nearer] = f
    # small triangles all at once: every pixel of a fixed-size box per face, then the nearest per pixel
    offsets = np.arange(_SMALL_BOX)
    for chunk in np.array_split(np.flatnonzero(small), max(1, int(small.sum()) // 8192 + 1)):
        if chunk.size == 0:
            continue
        px = (lo[chunk, 0, None, None] + offsets[None, None, :]).astype(np.float64)  # [n, 1, S]
        py = (lo[chunk, 1, None, None] + offsets[None, :, None]).astype(np.float64)  # [n, S, 1]
        px, py = np.broadcast_arrays(px, py)
        inside, pixel_depth = _cover(tri_uv[chunk], tri_z[chunk], px, py)
        inside &= (px <= hi[chunk, 0, None, None]) & (py <= hi[chunk, 1, None, None])
        faces_of = np.broadcast_to(chunk[:, None, None], inside.shape)[inside]
        pixels = (py[inside].astype(np.int64) * w + px[inside].astype(np.int64))
        cand_depth = pixel_depth[inside]
        order = np.lexsort((faces_of, cand_depth, pixels))  # per pixel: nearest first, then lowest face
        pixels, cand_depth, faces_of = pixels[order], cand_depth[order], faces_of[order]
        first = np.ones(len(pixels), dtype=bool)
        first[1:] = pixels[1:] != pixels[:-1]
        pixels, cand_depth, faces_of = pixels[first], cand_depth[first], faces_of[first]
        flat_depth, flat_face = depth.reshape(-1), face_index.reshape(-1)
        current = flat_depth[pixels]
        wins = (cand_depth < current) | ((cand_depth == current) & (faces_of < flat_face[pixels]))
        flat_depth[pixels[wins]] = cand_depth[wins]
        flat_face[pixels[wins]] = faces_of[wins]
    return depth, face_index


def shade_faces(vertices: Any, faces: Any, color: Sequence[float] = MESH_COLOR,
                light_direction: Sequence[float] = (0.0, 0.0, -1.0), ambient: float = 0.35) -> np.ndarray:
    """Flat Lambert shading: ``color * (ambient + (1 - ambient) |n . l|)`` per face (two-sided).

    Args:
        vertices (ndarray[V, 3]), faces (ndarray[F, 3] int): the mesh (camera frame).
        color (Sequence[float]): BGR base colour, 0-255.
        light_direction (Sequence[float]): direction towards the light (default: towards the camera).
        ambient (float): the unlit share of the colour, in [0, 1].

    Returns:
        ndarray[F, 3] float64: BGR face colours.
    """
    verts = _array("vertices", vertices, 2, 3)
    tris = _array("faces", faces, 2, 3, dtype=np.int64)
    if not 0.0 <= ambient <= 1.0:
        raise ValueError(f"ambient must be in [0, 1], got {ambient}")
    light = np.asarray(light_direction, dtype=np.float64)
    light = light / max(np.linalg.norm(light), 1e-12)
    a, b, c = (verts[tris[:, i]] for i in range(3))
    normals = np.cross(b - a, c - a)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    intensity = ambient + (1.0 - ambient) * np.abs(normals @ light)
    return intensity[:, None] * np.asarray(color, dtype=np.float64)[None]


def imshow_mesh_3d(img: np.ndarray, vertices: Any, faces: Any, camera_center: Sequence[float],
                   focal_length: Union[float, Sequence[float]], colors: Any = MESH_COLOR,
                   alpha: float = 1.0) -> np.ndarray:
    """Draw one or several meshes over an image (MMPose 0.x ``imshow_mesh_3d`` arguments).

    Args:
        img (ndarray[H, W, 3] uint8): BGR image (not modified).
        vertices (ndarray[V, 3] | list of them): camera-frame vertices of each mesh.
        faces (ndarray[F, 3] | list of them): faces of each mesh.
        camera_center (Sequence[float]): principal point (cx, cy) in pixels.
        focal_length (float | (fx, fy)): in pixels.
        colors (tuple | list of tuples): BGR colour, one for all meshes or one per mesh.
        alpha (float): opacity of the mesh over the image, in [0, 1].

    Returns:
        ndarray[H, W, 3] uint8: the image with the meshes (occluding each other through one z-buffer).
    """
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError("img must be an (H, W, 3) uint8 BGR array")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    vertex_list = list(vertices) if isinstance(vertices, (list, tuple)) else [vertices]
    face_list = list(faces) if isinstance(faces, (list, tuple)) else [faces]
    if len(vertex_list) != len(face_list):
        raise ValueError(f"{len(vertex_list)} vertex sets but {len(face_list)} face sets")
    color_arr = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
    if len(color_arr) not in (1, len(vertex_list)):
        raise ValueError(f"colors must be one BGR triple or one per mesh ({len(vertex_list)}), got {len(color_arr)}")
    all_verts, all_faces, all_colors, offset = [], [], [], 0
    for i, (verts, tris) in enumerate(zip(vertex_list, face_list)):
        verts = _array(f"vertices[{i}]", verts, 2, 3)
        tris = _array(f"faces[{i}]", tris, 2, 3, dtype=np.int64)
        all_colors.append(shade_faces(verts, tris, color_arr[i % len(color_arr)]))
        all_verts.append(verts)
        all_faces.append(tris + offset)
        offset += len(verts)
    h, w = img.shape[:2]
    _, face_index = rasterize_mesh(np.concatenate(all_verts), np.concatenate(all_faces), focal_length,
                                   camera_center, (w, h))
    face_colors = np.concatenate(all_colors)
    out = img.copy()
    covered = face_index >= 0
    mixed = alpha * face_colors[face_index[covered]] + (1.0 - alpha) * img[covered].astype(np.float64)
    out[covered] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out


def _side_view_vertices(vertex_list: Sequence[np.ndarray], focal_length: float, size: Tuple[int, int],
                        ratio: float = 0.8) -> list:
    """The meshes turned 90 degrees about the camera's y axis and placed to fill ``ratio`` of the view."""
    angle = np.radians(90.0)
    rot = np.array([[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]])
    turned = [v @ rot for v in vertex_list]
    stacked = np.concatenate(turned)
    lo, hi = stacked.min(0), stacked.max(0)
    w, h = size
    extent = hi - lo
    z = max(extent[0] * focal_length / (ratio * w), extent[1] * focal_length / (ratio * h)) - lo[2]
    shift = -(lo + hi) / 2
    shift[2] = z
    return [v + shift for v in turned]


def draw_mesh_result(img: np.ndarray, result: Mapping[str, Any], index: int = 0, side_view: bool = True,
                     color: Sequence[float] = MESH_COLOR, alpha: float = 0.9,
                     out_file: Optional[Union[str, os.PathLike]] = None) -> np.ndarray:
    """An HMR prediction drawn over its input crop, beside a side view (MMPose 0.x ``show_result``).

    Args:
        img (ndarray[img_res, img_res, 3] uint8): the BGR crop the model saw (e.g. de-normalised input).
        result (Mapping): ``ParametricMesh.predict`` output: ``vertices_cam`` [B, V, 3], ``faces`` [F, 3],
            ``focal_length``, ``img_res``.
        index (int): which sample of the batch.
        side_view (bool): append the mesh seen from its side, on white.
        color (Sequence[float]): BGR mesh colour.
        alpha (float): mesh opacity over the crop.
        out_file (str | PathLike, optional): write the picture there (PNG by extension).

    Returns:
        ndarray[H, W or 2W, 3] uint8: the picture.
    """
    for key in ("vertices_cam", "faces", "focal_length", "img_res"):
        if key not in result:
            raise KeyError(f"result lacks {key!r}: pass ParametricMesh.predict's output")
    vertices = result["vertices_cam"][index]
    vertices = _array("vertices_cam", vertices, 2, 3)
    faces = result["faces"]
    focal = float(result["focal_length"])
    res = int(result["img_res"])
    if img.shape[:2] != (res, res):
        img = cv2.resize(img, (res, res), interpolation=cv2.INTER_LINEAR)
    centre = ((res - 1) / 2.0, (res - 1) / 2.0)
    picture = imshow_mesh_3d(img, vertices, faces, centre, focal, colors=color, alpha=alpha)
    if side_view:
        side = _side_view_vertices([vertices], focal, (res, res))[0]
        blank = np.full_like(img, 255)
        picture = np.concatenate([picture, imshow_mesh_3d(blank, side, faces, centre, focal, colors=color)], axis=1)
    if out_file is not None:
        if not cv2.imwrite(str(out_file), picture):
            raise OSError(f"could not write {out_file}")
    return picture


def mesh_in_image_camera(vertices: Any, camera: Sequence[float], input_center: Sequence[float],
                         input_scale: Union[float, Sequence[float]], focal_length: float,
                         image_size: Tuple[int, int]) -> np.ndarray:
    """Model-frame vertices of one crop's prediction moved into the full image's camera (MMPose 0.x
    ``show_result``): the camera sits ``2 f / (box s)`` away, and the mesh is shifted by the offset of the
    box centre from the image centre at the mesh's mean depth. Projected with ``focal_length`` and the
    principal point at the image centre, the mesh lands on the box.

    Args:
        vertices (ndarray[V, 3]): ``ParametricMesh.predict``'s ``vertices[i]`` (model frame).
        camera (Sequence[float]): its ``camera[i]`` ``(s, tx, ty)``.
        input_center (Sequence[float]): the crop's centre (x, y) in image pixels.
        input_scale (float | Sequence[float]): the crop's side in image pixels (the first value if two).
        focal_length (float): the model's focal length in pixels.
        image_size (tuple[int, int]): (w, h) of the image.

    Returns:
        ndarray[V, 3] float64: vertices in the image's camera frame.
    """
    verts = _array("vertices", vertices, 2, 3)
    s, tx, ty = (float(v) for v in np.asarray(camera, dtype=np.float64).reshape(3))
    size = float(np.asarray(input_scale, dtype=np.float64).reshape(-1)[0])
    cx, cy = (float(v) for v in np.asarray(input_center, dtype=np.float64).reshape(2))
    w, h = image_size
    depth = 2 * focal_length / (size * s + 1e-9)
    mean_depth = verts[:, 2].mean() + depth
    shift = np.array([tx + (cx - (w - 1) / 2.0) * mean_depth / focal_length,
                      ty + (cy - (h - 1) / 2.0) * mean_depth / focal_length, depth])
    return verts + shift


def draw_mesh_on_image(img: np.ndarray, result: Mapping[str, Any], input_center: Any, input_scale: Any,
                       color: Sequence[float] = MESH_COLOR, alpha: float = 0.9,
                       out_file: Optional[Union[str, os.PathLike]] = None) -> np.ndarray:
    """Every person's predicted mesh over the whole image (one z-buffer for all).

    Args:
        img (ndarray[H, W, 3] uint8): the BGR image the crops came from.
        result (Mapping): ``ParametricMesh.predict`` output with ``vertices`` [B, V, 3], ``camera`` [B, 3],
            ``faces`` and ``focal_length``.
        input_center (array [B, 2]), input_scale (array [B] or [B, 2]): the crops' centres and sides in
            image pixels.
        color (Sequence[float]): BGR colour. alpha (float): opacity.
        out_file (str | PathLike, optional): write the picture there.

    Returns:
        ndarray[H, W, 3] uint8.
    """
    for key in ("vertices", "camera", "faces", "focal_length"):
        if key not in result:
            raise KeyError(f"result lacks {key!r}: pass ParametricMesh.predict's output")
    cameras = _array("camera", result["camera"], 2, 3)
    centers = _array("input_center", input_center, 2, 2)
    per_person = _array("vertices", result["vertices"], 3, 3)
    scales = _array("input_scale", input_scale, 1, len(cameras)) if np.ndim(input_scale) == 1 else \
        _array("input_scale", input_scale, 2, 2)[:, 0]
    if not len(per_person) == len(centers) == len(scales) == len(cameras):
        raise ValueError(f"{len(per_person)} meshes, {len(centers)} centres, {len(scales)} scales and "
                         f"{len(cameras)} cameras: one each per person")
    h, w = img.shape[:2]
    focal = float(result["focal_length"])
    meshes = [mesh_in_image_camera(per_person[i], cameras[i], centers[i], scales[i], focal, (w, h))
              for i in range(len(cameras))]
    picture = imshow_mesh_3d(img, meshes, [result["faces"]] * len(meshes), ((w - 1) / 2.0, (h - 1) / 2.0), focal,
                             colors=color, alpha=alpha)
    if out_file is not None and not cv2.imwrite(str(out_file), picture):
        raise OSError(f"could not write {out_file}")
    return picture
