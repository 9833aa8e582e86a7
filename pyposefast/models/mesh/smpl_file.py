"""SMPL model files: find them, read them (without chumpy or scipy), and write small synthetic ones.

The official SMPL model cannot be shipped with pyposefast: register at https://smpl.is.tue.mpg.de,
download "SMPL for Python" and give the file to ``SMPL(model_path=...)`` or put it in the folder
named by the environment variable ``PYPOSEFAST_SMPL_DIR`` (as ``SMPL_NEUTRAL.pkl``).

A model file is a Python pickle (``.pkl``, Python 2 protocol, read with ``encoding='latin1'``) or a
NumPy ``.npz`` holding these keys (V vertices, J joints, F faces, S shape components):

==================  =====================  ==================================================
key                 shape, dtype           meaning
==================  =====================  ==================================================
``v_template``      [V, 3] float64         rest-pose, mean-shape vertices (metres)
``shapedirs``       [V, 3, S] float64      shape blend shapes (a chumpy array in the official
                                           pickles; S = 10 in v1.0.0, 300 in v1.1.0)
``posedirs``        [V, 3, (J-1)*9] f64    pose blend shapes (on ``R - I`` of the non-root joints)
``J_regressor``     [J, V] float64         rest joints from vertices (``scipy.sparse.csc_matrix``
                                           in the official pickles)
``weights``         [V, J] float64         linear-blend-skinning weights (rows sum to 1)
``kintree_table``   [2, J] int64           row 0 parent ids (root: 4294967295), row 1 joint ids
``f``               [F, 3] uint32          triangles (vertex indices)
==================  =====================  ==================================================

Official pickles also hold ``J``, ``weights_prior``, ``J_regressor_prior``, ``vert_sym_idxs``,
``bs_style`` and ``bs_type``, which are read and ignored. Chumpy and scipy sparse objects inside a
pickle are unpacked by small stand-in classes, so neither package is needed; the unpickler accepts
only NumPy's array, dtype and scalar constructors, chumpy and scipy-sparse classes (a pickle naming any
other code is refused, so a model file cannot run code).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

__all__ = ["SMPL_DIR_ENV", "SMPL_DOWNLOAD_URL", "SMPL_FILE_NAMES", "SMPLModelNotFoundError", "resolve_smpl_path",
           "load_smpl_model_file", "write_synthetic_smpl", "SMPL_PARENTS"]

#: environment variable naming the folder that holds the SMPL model file.
SMPL_DIR_ENV = "PYPOSEFAST_SMPL_DIR"
#: where users obtain the official model (free registration, non-commercial licence).
SMPL_DOWNLOAD_URL = "https://smpl.is.tue.mpg.de"
#: file names looked for, in order, inside a folder.
SMPL_FILE_NAMES = ("SMPL_NEUTRAL.pkl", "SMPL_NEUTRAL.npz", "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl",
                   "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl", "smpl/SMPL_NEUTRAL.pkl", "smpl/SMPL_NEUTRAL.npz")
#: the SMPL kinematic tree (parent of each of the 24 joints; -1 for the pelvis).
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

_REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
_ROOT_PARENT_ID = 4294967295  # uint32(-1), the official kintree_table's root parent


class SMPLModelNotFoundError(FileNotFoundError):
    """No SMPL model file where one was expected; the message says where to get it and put it."""


def _not_found_message(where: str) -> str:
    return (f"SMPL model file not found: {where}. The SMPL body model cannot be shipped with pyposefast: "
            f"register at {SMPL_DOWNLOAD_URL}, download 'SMPL for Python' (e.g. SMPL_python_v.1.1.0.zip) "
            f"and either pass the .pkl file as SMPL(model_path='/path/to/SMPL_NEUTRAL.pkl') or put it as "
            f"SMPL_NEUTRAL.pkl in a folder and set the environment variable {SMPL_DIR_ENV}=/that/folder. "
            f"Files looked for in a folder: {', '.join(SMPL_FILE_NAMES)}. Tests and demos can write a small "
            f"synthetic model with pyposefast.models.mesh.smpl_file.write_synthetic_smpl(path).")


def resolve_smpl_path(model_path: Optional[Union[str, os.PathLike]] = None) -> Path:
    """The SMPL model file to read.

    Args:
        model_path (str | PathLike, optional): a model file, or a folder holding one of
            ``SMPL_FILE_NAMES``. ``None`` reads the folder from the environment variable
            ``PYPOSEFAST_SMPL_DIR``.

    Returns:
        Path: an existing file.

    Raises:
        SMPLModelNotFoundError: nothing found; the message says where to obtain the model
            (https://smpl.is.tue.mpg.de, registration) and where to put it.
    """
    if model_path is None:
        env = os.environ.get(SMPL_DIR_ENV)
        if not env:
            raise SMPLModelNotFoundError(_not_found_message(f"no model_path given and {SMPL_DIR_ENV} is not set"))
        model_path, origin = env, f"{SMPL_DIR_ENV}={env}"
    else:
        origin = f"model_path={str(model_path)!r}"
    path = Path(model_path).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        for name in SMPL_FILE_NAMES:
            if (path / name).is_file():
                return path / name
        raise SMPLModelNotFoundError(_not_found_message(f"the folder {origin} holds none of the expected files"))
    raise SMPLModelNotFoundError(_not_found_message(f"{origin} does not exist"))


class _ChumpyArray:
    """Stand-in for ``chumpy.Ch``: keeps the array its pickled state holds (``x``)."""

    def __setstate__(self, state: Any) -> None:
        self.array = None
        if isinstance(state, dict):
            if isinstance(state.get("x"), np.ndarray):
                self.array = state["x"]
            else:
                self.array = next((v for v in state.values() if isinstance(v, np.ndarray)), None)


class _SparseMatrix:
    """Stand-in for ``scipy.sparse.csc_matrix`` / ``csr_matrix``: rebuilt as a dense array."""

    layout = "csc"

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def dense(self) -> np.ndarray:
        st = self.state
        shape = tuple(int(s) for s in st.get("_shape", st.get("shape")))
        data, indices, indptr = (np.asarray(st[k]) for k in ("data", "indices", "indptr"))
        out = np.zeros(shape, dtype=data.dtype)
        # CSC: indptr runs over columns, indices are rows; CSR the other way round.
        major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        rows, cols = (indices, major) if self.layout == "csc" else (major, indices)
        np.add.at(out, (rows, cols), data)
        return out


class _CsrMatrix(_SparseMatrix):
    layout = "csr"


# The NumPy globals an array pickle names (arrays, dtypes, scalars); nothing else of NumPy is callable here.
_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                  "numpy._core.numeric")
_NUMPY_NAMES = ("_reconstruct", "scalar", "ndarray", "dtype", "_frombuffer")


class _SMPLUnpickler(pickle.Unpickler):
    """Unpickler for SMPL files: NumPy globals as themselves, chumpy / scipy sparse as stand-ins."""

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "chumpy":
            return _ChumpyArray
        if module.startswith("scipy.sparse"):
            if name in ("csc_matrix", "csc_array"):
                return _SparseMatrix
            if name in ("csr_matrix", "csr_array"):
                return _CsrMatrix
        if (module in _NUMPY_MODULES and name in _NUMPY_NAMES) or (
                module in ("copy_reg", "copyreg") and name == "_reconstructor"):
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode") or (  # protocol-2 bytes: _codecs.encode (empty: bytes())
                module in ("__builtin__", "builtins")
                and name in ("object", "set", "frozenset", "slice", "complex", "bytes")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"SMPL model pickle names {module}.{name}: only NumPy, chumpy and scipy "
                                     f"sparse objects are accepted in a model file")


def _plain(key: str, value: Any) -> Any:
    if isinstance(value, _ChumpyArray):
        if value.array is None:
            raise ValueError(f"SMPL model key {key!r}: a chumpy object without an array ('x') in its state; "
                             f"convert the file with chumpy installed (np.array(model[{key!r}]))")
        return value.array
    if isinstance(value, _SparseMatrix):
        return value.dense()
    return value


def load_smpl_model_file(path: Union[str, os.PathLike]) -> Dict[str, np.ndarray]:
    """Read an SMPL model file (``.pkl`` official/chumpy-free pickle, or ``.npz``).

    Args:
        path (str | PathLike): the model file (see ``resolve_smpl_path`` to find one).

    Returns:
        dict[str, ndarray]: ``v_template`` [V, 3] float64, ``shapedirs`` [V, 3, S] float64,
        ``posedirs`` [V, 3, (J-1)*9] float64, ``J_regressor`` [J, V] float64 (dense),
        ``weights`` [V, J] float64, ``parents`` [J] int64 (-1 for the root, each parent before its
        children), ``f`` [F, 3] int64, plus ``kintree_table`` as read.

    Raises:
        SMPLModelNotFoundError: the file does not exist.
        ValueError: a key is missing or has the wrong shape (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise SMPLModelNotFoundError(_not_found_message(f"{str(path)!r} does not exist"))
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                raw = {k: npz[k] for k in npz.files}
        except ValueError as e:
            raise ValueError(f"{path}: the .npz holds Python objects (e.g. a scipy sparse J_regressor or chumpy "
                             f"arrays saved with np.savez); save dense NumPy arrays instead") from e
    else:
        with open(path, "rb") as fh:
            try:
                raw = _SMPLUnpickler(fh, encoding="latin1").load()
            except (pickle.UnpicklingError, EOFError, AttributeError) as e:
                raise ValueError(f"{path} is not a readable SMPL model pickle: {e}") from e
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: an SMPL model pickle holds a dict, got {type(raw).__name__}")
    missing = [k for k in _REQUIRED_KEYS if k not in raw]
    if missing:
        raise ValueError(f"{path}: SMPL model file lacks key(s) {missing} (has {sorted(raw)})")
    model = {k: _plain(k, v) for k, v in raw.items() if k in _REQUIRED_KEYS}
    return _checked(model, str(path))


def _checked(model: Dict[str, Any], source: str) -> Dict[str, np.ndarray]:
    out = {k: np.asarray(model[k], dtype=np.float64) for k in ("v_template", "shapedirs", "posedirs",
                                                               "J_regressor", "weights")}
    V = out["v_template"].shape[0]
    kintree = np.asarray(model["kintree_table"]).astype(np.int64)
    if kintree.ndim != 2 or kintree.shape[0] != 2:
        raise ValueError(f"{source}: kintree_table must be [2, J], got {kintree.shape}")
    J = kintree.shape[1]
    expected = {"v_template": (V, 3), "J_regressor": (J, V), "weights": (V, J)}
    for key, shape in expected.items():
        if out[key].shape != shape:
            raise ValueError(f"{source}: {key} must be {list(shape)} (V={V}, J={J}), got {list(out[key].shape)}")
    if out["shapedirs"].ndim != 3 or out["shapedirs"].shape[:2] != (V, 3):
        raise ValueError(f"{source}: shapedirs must be [V={V}, 3, S], got {list(out['shapedirs'].shape)}")
    if out["posedirs"].shape != (V, 3, (J - 1) * 9):
        raise ValueError(f"{source}: posedirs must be [{V}, 3, {(J - 1) * 9}], got {list(out['posedirs'].shape)}")
    faces = np.asarray(model["f"]).astype(np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3 or (faces.size and (faces.min() < 0 or faces.max() >= V)):
        raise ValueError(f"{source}: f must be [F, 3] vertex indices in [0, {V}), got shape {faces.shape}")
    column_of_id = {int(joint_id): col for col, joint_id in enumerate(kintree[1])}
    parents = np.full(J, -1, dtype=np.int64)
    for col in range(J):
        parent_id = int(kintree[0, col])
        if parent_id in (_ROOT_PARENT_ID, -1):
            continue
        if parent_id not in column_of_id:
            raise ValueError(f"{source}: kintree_table names parent id {parent_id} that is no joint")
        parents[col] = column_of_id[parent_id]
    roots = np.flatnonzero(parents < 0)
    if len(roots) != 1 or roots[0] != 0 or np.any(parents[1:] >= np.arange(1, J)):
        raise ValueError(f"{source}: kintree_table must describe one tree rooted at joint 0 with every parent "
                         f"before its children, got parents {parents.tolist()}")
    out.update(parents=parents, f=faces, kintree_table=kintree)
    return out


def _rest_joints(parents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rest joint positions (metres, y up): a T-pose-like figure for the SMPL tree, else a random tree."""
    if tuple(parents.tolist()) == SMPL_PARENTS:
        return np.array([
            [0.0, 0.0, 0.0], [0.06, -0.09, 0.0], [-0.06, -0.09, 0.0], [0.0, 0.11, -0.02],
            [0.10, -0.47, 0.0], [-0.10, -0.47, 0.0], [0.0, 0.25, 0.0], [0.09, -0.87, -0.04],
            [-0.09, -0.87, -0.04], [0.0, 0.30, 0.02], [0.11, -0.93, 0.08], [-0.11, -0.93, 0.08],
            [0.0, 0.51, -0.01], [0.08, 0.42, -0.01], [-0.08, 0.42, -0.01], [0.0, 0.60, 0.04],
            [0.19, 0.45, -0.02], [-0.19, 0.45, -0.02], [0.45, 0.43, -0.03], [-0.45, 0.43, -0.03],
            [0.71, 0.44, -0.03], [-0.71, 0.44, -0.03], [0.80, 0.43, -0.03], [-0.80, 0.43, -0.03]])
    joints = np.zeros((len(parents), 3))
    for j in range(1, len(parents)):
        direction = rng.normal(size=3)
        joints[j] = joints[parents[j]] + 0.15 * direction / np.linalg.norm(direction)
    return joints


def _tube(start: np.ndarray, end: np.ndarray, rings: int, segments: int, radius: float) -> np.ndarray:
    """Vertices [rings * segments, 3] on a cylinder from ``start`` to ``end``."""
    axis = end - start
    length = max(np.linalg.norm(axis), 1e-6)
    axis = axis / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    t = (np.arange(rings) + 0.5) / rings
    angles = 2 * np.pi * np.arange(segments) / segments
    centres = start + t[:, None] * (end - start)  # [rings, 3]
    ring = radius * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v)  # [segments, 3]
    return (centres[:, None, :] + ring[None]).reshape(-1, 3)


def write_synthetic_smpl(path: Union[str, os.PathLike], num_vertices: int = 736, num_joints: int = 24,
                         num_betas: int = 10, seed: int = 0, sparse_regressor: bool = True) -> Path:
    """Write a small SMPL-structured model file (for tests and demos; not a real body model).

    The figure is one cylinder ("tube") per bone of the kinematic tree (the SMPL tree and a T-pose-like
    skeleton when ``num_joints == 24``), each tube skinned mostly to its bone's parent joint and blended
    with the child near the joint. ``J_regressor`` averages the tube vertices nearest each joint, so the
    regressed rest joints lie close to the skeleton. Blend shapes are small and random. Vertices beyond
    those the tubes use sit at the root. The keys, shapes and dtypes follow the official pickle's
    (table in the module docstring; ``shapedirs`` is a plain array, as in chumpy-free files).

    Args:
        path (str | PathLike): output file; ``.npz`` writes NumPy arrays, anything else a pickle.
        num_vertices (int): V, at least ``8 * (num_joints - 1)``.
        num_joints (int): J, at least 2.
        num_betas (int): S shape components.
        seed (int): random seed (the file is a pure function of the arguments).
        sparse_regressor (bool): store ``J_regressor`` as ``scipy.sparse.csc_matrix`` in a pickle, as the
            official file does (when scipy is installed; a dense array otherwise; ignored for ``.npz``).

    Returns:
        Path: ``path``.
    """
    num_bones = num_joints - 1
    if num_joints < 2:
        raise ValueError(f"num_joints must be >= 2, got {num_joints}")
    if num_vertices < 8 * num_bones:
        raise ValueError(f"num_vertices must be >= 8 * (num_joints - 1) = {8 * num_bones}, got {num_vertices}")
    if num_betas < 1:
        raise ValueError(f"num_betas must be >= 1, got {num_betas}")
    rng = np.random.default_rng(seed)
    parents = np.array(SMPL_PARENTS if num_joints == 24 else [-1] + [(j - 1) // 2 for j in range(1, num_joints)])
    joints = _rest_joints(parents, rng)
    per_bone = num_vertices // num_bones
    segments = 8 if per_bone < 48 else 12
    rings = per_bone // segments
    vertices, weights, faces = [], [], []
    for child in range(1, num_joints):
        parent = parents[child]
        base = len(vertices) * rings * segments
        vertices.append(_tube(joints[parent], joints[child], rings, segments, radius=0.04))
        t = (np.arange(rings) + 0.5) / rings
        w = np.zeros((rings, num_joints))
        w[:, parent] = np.clip(1.5 - t, 0.0, 1.0)  # the near end follows the parent joint,
        w[:, child] = 1.0 - w[:, parent]  # the far end blends into the child
        weights.append(np.repeat(w, segments, axis=0))
        for r in range(rings - 1):
            for s in range(segments):
                a, b = base + r * segments + s, base + r * segments + (s + 1) % segments
                c, d = a + segments, b + segments
                faces += [(a, b, d), (a, d, c)]
    v_template = np.concatenate(vertices)
    lbs_weights = np.concatenate(weights)
    spare = num_vertices - len(v_template)
    v_template = np.concatenate([v_template, np.repeat(joints[:1], spare, axis=0)])
    lbs_weights = np.concatenate([lbs_weights, np.tile(np.eye(num_joints)[:1], (spare, 1))])
    dist = np.linalg.norm(v_template[None] - joints[:, None], axis=-1)  # [J, V]
    regressor = np.zeros((num_joints, num_vertices))
    nearest = np.argsort(dist, axis=1)[:, :segments]
    np.put_along_axis(regressor, nearest, 1.0 / segments, axis=1)
    model: Dict[str, Any] = {
        "v_template": v_template.astype(np.float64),
        "shapedirs": (0.01 * rng.normal(size=(num_vertices, 3, num_betas))).astype(np.float64),
        "posedirs": (0.002 * rng.normal(size=(num_vertices, 3, num_bones * 9))).astype(np.float64),
        "J_regressor": regressor,
        "weights": lbs_weights.astype(np.float64),
        "kintree_table": np.stack([np.where(parents < 0, _ROOT_PARENT_ID, parents), np.arange(num_joints)]
                                  ).astype(np.int64),
        "f": np.asarray(faces, dtype=np.uint32).reshape(-1, 3),
        "J": joints.astype(np.float64),
        "J_regressor_prior": regressor.copy(),
        "weights_prior": lbs_weights.astype(np.float64),
        # the vertex nearest each vertex's mirror image (x -> -x), as the official left/right table
        "vert_sym_idxs": np.linalg.norm(v_template[:, None] * [-1.0, 1.0, 1.0] - v_template[None], axis=-1)
        .argmin(axis=1).astype(np.int64),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    path = Path(path)
    if path.suffix == ".npz":
        np.savez(path, **{k: v for k, v in model.items() if isinstance(v, np.ndarray)})
        return path
    if sparse_regressor:
        try:
            import scipy.sparse  # optional: only to mirror the official file's sparse regressor
        except ImportError:
            pass
        else:
            model["J_regressor"] = scipy.sparse.csc_matrix(regressor)
            model["J_regressor_prior"] = scipy.sparse.csc_matrix(regressor)
    with open(path, "wb") as fh:
        pickle.dump(model, fh, protocol=2)
    return path

