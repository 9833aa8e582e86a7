"""pyposefast's nvJPEG binding (NvjpegDecoder) and the side-stream pipeline map."""

import threading

import cv2
import numpy as np
import pytest
import torch

import pyposefast._C as _C
from pyposefast.codecs import MSRAHeatmap
from pyposefast.datasets import dataset_meta, generate_synthetic_coco, load_coco_keypoints
from pyposefast.datasets.nvjpeg import NvjpegDecoder, find_nvjpeg_library, nvjpeg_available
from pyposefast.datasets.pipeline import (DevicePrefetcher, TopdownBatchPipeline, build_topdown_loader,
                                          decode_jpeg_batch, map_on_side_stream)
from tests.conftest import requires_cuda

requires_nvjpeg = pytest.mark.skipif(not nvjpeg_available(), reason="needs CUDA and the nvJPEG library")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("syn"))
    p = generate_synthetic_coco(root, num_train=4, num_val=1, image_size=(160, 120), seed=5, max_people=3)
    return load_coco_keypoints(p["train_ann"], p["train_img_prefix"]).records


def _jpeg(img: np.ndarray, **params) -> np.ndarray:
    flags = []
    for k, v in params.items():
        flags += [getattr(cv2, k), v]
    ok, buf = cv2.imencode(".jpg", img, flags)
    assert ok
    return buf.reshape(-1)


def _images(seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for h, w in ((48, 64), (33, 71), (120, 90)):  # odd sizes: chroma subsampling at the borders
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 3) % 256], -1).astype(np.uint8)
        img[h // 3:h // 2, w // 4:w // 2] = rng.integers(0, 256, 3, dtype=np.uint8)  # a flat patch
        out.append(img)
    return out


def test_binding_reports_missing_library():
    with pytest.raises(RuntimeError, match="cannot load nvJPEG from /nonexistent/libnvjpeg.so"):
        _C.NvjpegDecoder("/nonexistent/libnvjpeg.so", "auto")
    with pytest.raises(ValueError, match="backend must be"):
        _C.NvjpegDecoder("/nonexistent/libnvjpeg.so", "fast")


def test_decoder_argument_checks(monkeypatch):
    with pytest.raises(ValueError, match="CUDA device"):
        NvjpegDecoder("cpu")
    with pytest.raises(ValueError, match="backend"):
        NvjpegDecoder("cuda", backend="gpu")
    monkeypatch.setenv("PYPOSEFAST_NVJPEG", "/some/where/libnvjpeg.so.13")
    assert find_nvjpeg_library() == "/some/where/libnvjpeg.so.13"
    with pytest.raises(ValueError, match="jpeg_decoder"):
        DevicePrefetcher([], "cpu", jpeg_decoder="pillow")


def test_side_stream_map_on_cpu_is_map():
    got = list(map_on_side_stream(lambda x: x * 2, [torch.ones(2), torch.zeros(3)], "cpu"))
    assert torch.equal(got[0], torch.full((2,), 2.0)) and torch.equal(got[1], torch.zeros(3))


@requires_nvjpeg
@pytest.mark.cuda
def test_decode_matches_opencv_and_channel_order():
    imgs = _images()
    enc = [_jpeg(im, IMWRITE_JPEG_QUALITY=95) for im in imgs] + [torch.from_numpy(_jpeg(imgs[0]))]
    dec = NvjpegDecoder("cuda")
    bgr = dec.decode(enc)
    rgb = dec.decode(enc, bgr=False)
    assert bgr.data.is_cuda and bgr.channels == 3 and len(bgr) == 4
    assert bgr.cpu_sizes.tolist() == [[48, 64], [33, 71], [120, 90], [48, 64]]
    for i, e in enumerate(enc):
        e = e.numpy() if isinstance(e, torch.Tensor) else e
        ref = cv2.imdecode(e, cv2.IMREAD_COLOR).astype(np.int16)
        got = bgr.image(i).cpu().numpy().astype(np.int16)
        assert got.shape == ref.shape
        # two JPEG decoders (IDCT, chroma upsampling) differ by a few levels, not more
        assert np.abs(got - ref).mean() < 3.0, (i, np.abs(got - ref).mean())
        assert torch.equal(rgb.image(i).flip(-1), bgr.image(i))
    assert dec.host_fallbacks == 0 or dec.backend == "hardware"


@requires_nvjpeg
@pytest.mark.cuda
def test_preallocated_buffers_grow_only_and_decode_the_same():
    imgs = _images(1)
    enc = [_jpeg(im) for im in imgs]
    plain = NvjpegDecoder("cuda", preallocate=False)
    pre = NvjpegDecoder("cuda")
    with pytest.raises(ValueError, match="width"):
        pre.reserve(2, -1, 8)
    a, b = plain.decode(enc), pre.decode(enc)
    assert torch.equal(a.data, b.data)
    assert plain._impl.reserved == (0, 0, 0)
    if pre.backend != "hardware":  # a no-op on the default backend
        assert pre._impl.reserved == (0, 0, 0) and not pre.reserve(64, 640, 480)
        return
    n, w, h = pre._impl.reserved  # the batch's largest image (what the engines took), rounded up to 64
    assert n == 3 - pre.host_fallbacks and w in (64, 128) and h in (64, 128)
    assert pre.reserve(8, 64, 64) and pre._impl.reserved == (8, w, h)
    assert not pre.reserve(8, w, h) and not pre.reserve(2, 16, 16)
    assert pre.reserve(8, 640, 480) and pre._impl.reserved == (8, 640, 480)
    assert torch.equal(pre.decode(enc).data, a.data)
    assert pre._impl.hardware_info()[0] >= 1


@requires_nvjpeg
@pytest.mark.cuda
def test_decode_fallbacks_gray_progressive_and_errors():
    img = _images()[2]
    gray = _jpeg(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    progressive = _jpeg(img, IMWRITE_JPEG_PROGRESSIVE=1)
    dec = NvjpegDecoder("cuda")
    out = dec.decode([gray, progressive])
    g = out.image(0).cpu().numpy().astype(np.int16)
    assert g.shape == (120, 90, 3)
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
    ref = cv2.imdecode(progressive, cv2.IMREAD_COLOR).astype(np.int16)
    assert np.abs(out.image(1).cpu().numpy().astype(np.int16) - ref).mean() < 3.0
    assert len(dec.decode([])) == 0
    with pytest.raises(ValueError, match=r"encoded\[1\] is not a decodable JPEG"):
        dec.decode([gray, np.frombuffer(b"not a jpeg at all", np.uint8)])
    with pytest.raises(ValueError, match=r"encoded\[0\] must be 1-D uint8"):
        dec.decode([np.zeros((2, 2), np.uint8)])
    with pytest.raises(ValueError, match=r"encoded\[0\] is empty"):
        dec.decode([np.zeros(0, np.uint8)])
    with dec._busy:  # as if another thread were decoding with it right now
        with pytest.raises(RuntimeError, match="another thread"):
            dec.decode([gray])
    got = []
    t = threading.Thread(target=lambda: got.append(dec.decode([gray]).cpu_sizes.tolist()))
    t.start()
    t.join()
    assert got == [[[120, 90]]]  # one call at a time, from any thread
    out = dec.decode([gray])  # still usable after the errors
    assert out.cpu_sizes.tolist() == [[120, 90]]


@requires_nvjpeg
@pytest.mark.cuda
def test_prefetcher_decodes_with_the_binding(records):
    enc = next(iter(build_topdown_loader(records, 3, 0, shuffle=False, encoded=True)))
    ours = decode_jpeg_batch(enc, "cuda", bgr=True, decoder=NvjpegDecoder("cuda"))
    got = list(DevicePrefetcher(build_topdown_loader(records, 3, 0, shuffle=False, encoded=True), "cuda",
                                decode_jpeg=True, decode_to_bgr=True, jpeg_decoder="pyposefast"))
    assert torch.equal(got[0].images.data, ours.images.data) and torch.equal(got[0].bbox, ours.bbox)
    for i in range(len(enc)):
        cv = cv2.imread(records[int(enc.index[i])]["img_path"], cv2.IMREAD_COLOR).astype(np.int16)
        assert np.abs(ours.images.image(i).cpu().numpy().astype(np.int16) - cv).mean() < 8.0


@requires_nvjpeg
@pytest.mark.cuda
@pytest.mark.parametrize("threads", [2, 3])
def test_prefetcher_decoding_threads_keep_the_loader_order(records, threads):
    def run(n, stop_after=None):
        loader = build_topdown_loader(records * 3, 2, 0, shuffle=True, seed=4, encoded=True)
        pre = DevicePrefetcher(loader, "cuda", decode_jpeg=True, decode_to_bgr=True, decode_threads=n)
        out = []
        for b in pre:
            out.append((b.index.cpu(), b.images.data.clone(), b.bbox.clone()))
            if stop_after is not None and len(out) == stop_after:
                break  # the threads stop with the consumer
        return out, pre

    one, _ = run(1)
    many, pre = run(threads)
    assert pre.max_device_batches == threads + 1 and len(pre._decoders) == threads
    assert len(many) == len(one) >= 3
    for (i1, d1, b1), (i2, d2, b2) in zip(one, many):
        assert torch.equal(i1, i2) and torch.equal(d1, d2) and torch.equal(b1, b2)
    early, _ = run(threads, stop_after=2)
    assert [torch.equal(a[0], b[0]) for a, b in zip(early, one)] == [True, True]


@requires_cuda
@pytest.mark.cuda
def test_side_stream_pipeline_equals_current_stream(records):
    """The pipeline on the side stream gives the same samples as on the current stream."""
    pipe = TopdownBatchPipeline.from_meta(dataset_meta("coco"), (48, 64), MSRAHeatmap((48, 64), (12, 16), 2.0))
    batches = [b.to("cuda") for b in build_topdown_loader(records, 2, 0, shuffle=False)]
    draws = [TopdownBatchPipeline.draw(len(b), generator=torch.Generator().manual_seed(i)).cuda()
             for i, b in enumerate(batches)]
    want = [pipe(b, draws=d) for b, d in zip(batches, draws)]
    it = iter(range(len(batches)))
    got = list(map_on_side_stream(lambda b: pipe(b, draws=draws[next(it)]), iter(batches), "cuda"))
    torch.cuda.synchronize()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        for k in ("inputs", "heatmaps", "keypoint_weights", "transformed_keypoints"):
            assert torch.equal(g[k], w[k]), k


def test_train_data_decode_on_device_checks(records):
    from pyposefast.engine import TopdownTrainData

    codec = MSRAHeatmap((48, 64), (12, 16), 2.0)
    with pytest.raises(ValueError, match="decode_on_device does not go with"):
        TopdownTrainData(records, "coco", codec, (48, 64), 2, num_workers=0, cache_images=True, decode_on_device=True)
    data = TopdownTrainData(records, "coco", codec, (48, 64), 2, num_workers=0, device="cpu", decode_on_device=True)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        next(iter(data))
    with pytest.raises(ValueError, match="decode_threads"):
        TopdownTrainData(records, "coco", codec, (48, 64), 2, num_workers=0, decode_threads=2)


@requires_nvjpeg
@pytest.mark.cuda
def test_train_data_decode_on_device_matches_cpu_decoding(records):
    """The same batches and targets as decoding in the workers; crops within two decoders' rounding."""
    from pyposefast.engine import TopdownTrainData

    codec = MSRAHeatmap((48, 64), (12, 16), 2.0)
    kw = dict(num_workers=0, device="cuda", seed=3)
    cpu = list(TopdownTrainData(records, "coco", codec, (48, 64), 2, **kw))
    gpu = list(TopdownTrainData(records, "coco", codec, (48, 64), 2, decode_on_device=True, **kw))
    threads = list(TopdownTrainData(records, "coco", codec, (48, 64), 2, decode_on_device=True, decode_threads=2,
                                    **kw))
    assert len(cpu) == len(gpu) == len(threads) > 0
    for a, b in zip(gpu, threads):  # two decoding threads: the same batches, in the same order
        assert all(torch.equal(a[k], b[k]) for k in a)
    for a, b in zip(cpu, gpu):
        assert torch.equal(a["heatmaps"], b["heatmaps"]) and torch.equal(a["keypoint_weights"], b["keypoint_weights"])
        assert (a["inputs"] - b["inputs"]).abs().mean() < 0.12  # normalised units (1 level ~ 0.017)
