"""Input expansion and frame reading: order, names, threads decoding ahead, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pyposefast.apis.inputs import expand_inputs, iter_frames


def _write(folder, n):
    paths = []
    for i in range(n):
        path = folder / f"img{i:02d}.png"
        cv2.imwrite(str(path), np.full((8 + i, 10, 3), i, np.uint8))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("threads", [0, 3])
def test_frames_in_order(tmp_path, threads):
    paths = _write(tmp_path, 9)
    array = np.zeros((5, 6), np.uint8)  # gray: becomes BGR
    items = expand_inputs([str(tmp_path), array, paths[2]])
    assert [src for _, src in items] == [0] * 9 + [1, 2]
    frames = list(iter_frames([it for it, _ in items], decode_threads=threads, window=2))
    assert [f.input_index for f in frames] == list(range(11))
    assert [int(f.image[0, 0, 0]) for f in frames[:9]] == list(range(9))
    assert [f.image.shape[0] for f in frames[:9]] == [8 + i for i in range(9)]
    assert frames[9].image.shape == (5, 6, 3) and frames[9].img_path is None and frames[9].name == "000009"
    assert frames[10].name == "img02" and frames[10].frame_id is None


@pytest.mark.parametrize("threads", [0, 2])
def test_undecodable_image_raises_in_order(tmp_path, threads):
    paths = _write(tmp_path, 4)
    with open(paths[2], "wb") as f:
        f.write(b"not a png")
    it = iter_frames(paths, decode_threads=threads, window=3)
    assert [next(it).name for _ in range(2)] == ["img00", "img01"]
    with pytest.raises(FileNotFoundError, match="img02"):
        next(it)


def test_expand_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        expand_inputs(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match=r"inputs\[1\]"):
        expand_inputs([np.zeros((2, 2, 3), np.uint8), str(tmp_path / "nope.jpg")])
    with pytest.raises(TypeError, match="inputs"):
        expand_inputs(3.5)


def _video(path, n):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (16, 12))
    for i in range(n):
        writer.write(np.full((12, 16, 3), 20 * i, np.uint8))
    writer.release()


@pytest.mark.parametrize("threads", [0, 2])
def test_video_frames_read_ahead(tmp_path, threads):
    _video(tmp_path / "v.avi", 6)
    items = [str(tmp_path / "v.avi"), np.zeros((4, 4, 3), np.uint8), str(tmp_path / "v.avi")]
    frames = list(iter_frames(items, decode_threads=threads, window=2))
    assert [f.frame_id for f in frames] == [0, 1, 2, 3, 4, 5, None, 0, 1, 2, 3, 4, 5]
    assert [f.input_index for f in frames] == [0] * 6 + [1] + [2] * 6
    assert abs(int(frames[5].image.mean()) - 100) <= 3 and frames[0].fps == pytest.approx(10.0)
    # stopping early releases the reader (no hang), a broken video raises where it comes
    it = iter_frames(items, decode_threads=threads, window=1)
    assert next(it).frame_id == 0
    it.close()
    (tmp_path / "bad.avi").write_bytes(b"not a video")
    it = iter_frames([str(tmp_path / "v.avi"), str(tmp_path / "bad.avi")], decode_threads=threads, window=2)
    assert len([next(it) for _ in range(6)]) == 6
    with pytest.raises(OSError, match="bad.avi"):
        next(it)
