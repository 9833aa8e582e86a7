"""The mesh rasteriser: coverage against OpenCV's polygon fill, z-buffer occlusion in either drawing
order, Lambert shading, and an HMR result drawn to a PNG where its mesh projects."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from pyposefast.models.mesh.camera import weak_perspective_translation
from pyposefast.models.mesh.smpl import SMPL
from pyposefast.models.mesh.smpl_file import write_synthetic_smpl
from pyposefast.visualization.mesh import draw_mesh_result, imshow_mesh_3d, rasterize_mesh, shade_faces

F = 100.0  # focal length (pixels); the camera looks at z = 1 so a unit of x is 100 pixels
C = (31.5, 31.5)


def _square(z, half=0.2, shift=(0.0, 0.0)):
    x0, y0 = shift
    verts = np.array([[x0 - half, y0 - half, z], [x0 + half, y0 - half, z], [x0 + half, y0 + half, z],
                      [x0 - half, y0 + half, z]])
    return verts, np.array([[0, 1, 2], [0, 2, 3]])


def test_triangle_coverage_matches_opencv_fill():
    verts = np.array([[-0.25, -0.2, 1.0], [0.22, -0.1, 1.0], [0.0, 0.27, 1.0]])
    depth, face = rasterize_mesh(verts, [[0, 1, 2]], F, C, (64, 64))
    uv = verts[:, :2] * F + np.array(C)
    reference = np.zeros((64, 64), np.uint8)
    cv2.fillPoly(reference, [np.round(uv * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    ours = face == 0
    assert ours.sum() > 300
    assert np.logical_xor(ours, reference.astype(bool)).sum() <= 0.08 * ours.sum()  # edge pixels only
    np.testing.assert_allclose(depth[ours], 1.0)
    assert np.isinf(depth[~ours]).all() and (face[~ours] == -1).all()


def test_nearer_surface_wins_in_either_order():
    near_v, near_f = _square(1.0, half=0.1, shift=(0.05, 0.0))  # columns 26.5-46.5, rows 21.5-41.5
    far_v, far_f = _square(2.0, half=0.6)  # rows and columns 1.5-61.5
    blank = np.zeros((64, 64, 3), np.uint8)
    red, green = (0, 0, 255), (0, 255, 0)
    a = imshow_mesh_3d(blank, [near_v, far_v], [near_f, far_f], C, F, colors=[red, green])
    b = imshow_mesh_3d(blank, [far_v, near_v], [far_f, near_f], C, F, colors=[green, red])
    np.testing.assert_array_equal(a, b)
    centre = a[31, 36]
    assert centre[2] > 0 and centre[1] == 0  # the near (red) square covers the centre
    corner = a[8, 8]  # inside the far square's projection only
    assert corner[1] > 0 and corner[2] == 0
    assert (a[0, 0] == 0).all() and (a[63, 63] == 0).all()


def test_lambert_shading_darkens_tilted_faces():
    verts = np.array([[0, 0, 1.0], [1, 0, 1.0], [0, 1, 1.0], [0, 0, 1.0], [1, 0, 2.0], [0, 1, 1.0]])
    colors = shade_faces(verts, [[0, 1, 2], [3, 4, 5]], color=(200, 200, 200), ambient=0.2)
    np.testing.assert_allclose(colors[0], 200.0)
    tilt = 1 / np.sqrt(2)
    np.testing.assert_allclose(colors[1], 200.0 * (0.2 + 0.8 * tilt))
    with pytest.raises(ValueError, match="ambient"):
        shade_faces(verts, [[0, 1, 2]], ambient=2.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="faces"):
        rasterize_mesh(np.zeros((3, 3)), [[0, 1, 5]], F, C, (8, 8))
    with pytest.raises(ValueError, match="img"):
        imshow_mesh_3d(np.zeros((8, 8), np.uint8), np.zeros((3, 3)), [[0, 1, 2]], C, F)


def test_hmr_result_is_drawn_where_the_mesh_projects(tmp_path):
    smpl = SMPL(write_synthetic_smpl(tmp_path / "SMPL_NEUTRAL.pkl", num_vertices=368))
    pose = torch.zeros(1, 72)
    pose[0, 0] = np.pi  # upright in the image (y down)
    pose[0, 50] = 0.8  # a bent elbow
    mesh = smpl(torch.zeros(1, 10), pose[:, 3:], pose[:, :3])
    res, focal = 96, 5000.0
    camera = torch.tensor([[0.9, 0.05, 0.0]])
    translation = weak_perspective_translation(camera, focal, res)
    result = {"vertices_cam": mesh["vertices"] + translation[:, None], "faces": smpl.get_faces(),
              "focal_length": focal, "img_res": res}
    crop = np.full((res, res, 3), 40, np.uint8)
    out_file = tmp_path / "mesh.png"
    picture = draw_mesh_result(crop, result, out_file=out_file)
    assert picture.shape == (res, 2 * res, 3)
    np.testing.assert_array_equal(cv2.imread(str(out_file)), picture)
    changed = (picture[:, :res] != crop).any(axis=2)
    # every changed pixel lies inside the projected mesh's silhouette (its faces filled by OpenCV, grown 1 px)
    cam = result["vertices_cam"][0].numpy()
    uv = focal * cam[:, :2] / cam[:, 2:] + (res - 1) / 2
    silhouette = np.zeros((res, res), np.uint8)
    for tri in result["faces"]:
        cv2.fillConvexPoly(silhouette, np.round(uv[tri] * 16).astype(np.int32), 1, shift=4)
    filled = silhouette.astype(bool)
    silhouette = cv2.dilate(silhouette, np.ones((3, 3), np.uint8)).astype(bool)
    assert changed.sum() > 150
    assert not (changed & ~silhouette).any()
    # and most of OpenCV's fill (which also takes the thin tubes' boundary pixels) is painted
    assert changed.sum() > 0.5 * filled.sum()
    side = picture[:, res:]
    assert (side != 255).any(axis=2).sum() > 50  # the side view shows the mesh too


def test_batched_small_triangles_match_one_by_one(tmp_path, monkeypatch):
    from pyposefast.visualization import mesh as mesh_module
    smpl = SMPL(write_synthetic_smpl(tmp_path / "SMPL_NEUTRAL.pkl", num_vertices=736, seed=1))
    pose = 0.4 * torch.randn(1, 72, generator=torch.Generator().manual_seed(0))
    pose[0, :3] = torch.tensor([np.pi, 0.3, 0.0])
    verts = smpl(torch.zeros(1, 10), pose[:, 3:], pose[:, :3])["vertices"][0].double().numpy() + [0.0, 0.0, 2.5]
    faces = smpl.get_faces()
    depth, face = rasterize_mesh(verts, faces, 120.0, (47.5, 47.5), (96, 96))
    assert (face >= 0).sum() > 500
    monkeypatch.setattr(mesh_module, "_SMALL_BOX", 0)  # every triangle through the one-by-one path
    depth_ref, face_ref = rasterize_mesh(verts, faces, 120.0, (47.5, 47.5), (96, 96))
    np.testing.assert_array_equal(face, face_ref)
    np.testing.assert_array_equal(depth, depth_ref)


def test_mesh_on_the_full_image_lands_on_the_predicted_keypoints(tmp_path):
    from pyposefast.losses.mesh import MeshLoss
    from pyposefast.models.backbones.resnet import ResNet
    from pyposefast.models.mesh.hmr import ParametricMesh
    from pyposefast.models.mesh.hmr_head import HMRMeshHead
    from pyposefast.visualization.mesh import draw_mesh_on_image, mesh_in_image_camera

    smpl = SMPL(write_synthetic_smpl(tmp_path / "SMPL_NEUTRAL.pkl", num_vertices=368))
    torch.manual_seed(0)
    backbone = ResNet(depth=18, stem_channels=8, base_channels=8, num_stages=1, strides=(1,), dilations=(1,),
                      out_indices=(0,))
    upright = [1, 0, 0, -1, 0, 0]  # 6D of a half turn about x: SMPL is y-up, images y-down
    mean = {"pose": np.concatenate([upright, np.tile([1, 0, 0, 1, 0, 0], 23)]), "shape": np.zeros(10),
            "cam": [0.9, 0.0, 0.1]}
    head = HMRMeshHead(backbone.feat_dim, hidden_dim=16, smpl_mean_params=mean)
    model = ParametricMesh(backbone, head, smpl, MeshLoss(1, 1, 1, 1, 1, img_res=64)).eval()
    centers, sizes = torch.tensor([[70.0, 60.0], [150.0, 70.0]]), torch.tensor([[100.0, 100.0], [60.0, 60.0]])
    result = model.predict(torch.randn(2, 3, 64, 64), input_center=centers, input_scale=sizes)
    image = np.full((140, 220, 3), 30, np.uint8)
    for i in range(2):  # the mesh's joints, in the image camera, project onto predict's keypoints_2d
        cam_joints = mesh_in_image_camera(result["keypoints_3d"][i], result["camera"][i], centers[i], sizes[i],
                                          5000.0, (220, 140))
        uv = 5000.0 * cam_joints[:, :2] / cam_joints[:, 2:] + np.array([219 / 2, 139 / 2])
        np.testing.assert_allclose(uv, result["keypoints_2d"][i].numpy(), atol=1.5)
    picture = draw_mesh_on_image(image, result, centers, sizes, out_file=tmp_path / "people.png")
    changed = (picture != image).any(axis=2)
    assert changed[:, :110].sum() > 100 and changed[:, 120:].sum() > 50  # both people are drawn
    for i in range(2):
        x, y = result["keypoints_2d"][i].numpy().mean(axis=0)
        assert changed[int(y) - 8:int(y) + 8, int(x) - 8:int(x) + 8].any()
    assert (tmp_path / "people.png").exists()
