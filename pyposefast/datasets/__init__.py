"""Datasets and the batch pipeline: ragged image batches, augmentation and top-down transforms."""

from .ragged import RaggedImages, collate_images
from .transforms import TopdownAffine
from .metainfo import dataset_meta, list_datasets
from .errors import AnnotationError
from .coco import CocoKeypoints, invalid_region_mask, load_coco_keypoints, load_detection_boxes
from .synthetic import generate_synthetic_coco
from .mpii import load_mpii, load_mpii_headboxes
from .h36m import H36mSequences, h36m_sequence_indices, h36m_window_table, load_h36m, parse_h36m_imgname
from .synthetic3d import generate_synthetic3d, write_synthetic3d
from .converters import mpii_json_to_coco, mpii_mat_to_coco, mpii_mat_to_mmpose_json
from .interhand import InterHandTrainData, flip_hand_labels, interhand_topdown_batch, load_interhand3d
from .mesh import (MeshTrainData, crop_mesh_input, generate_synthetic_mesh, load_mesh_annotations,
                   load_mosh_annotations, mesh_samples_from_records)
from .bottomup import (BottomupBatch, BottomupBatchPipeline, BottomupCollate, BottomupDecodeDataset,
                       BottomupRandomAffine, BottomupResize, build_bottomup_loader)
from .pipeline import (DevicePrefetcher, TopdownBatch, TopdownBatchPipeline, TopdownCollate, TopdownDecodeDataset,
                       build_topdown_loader, map_on_side_stream)
from .nvjpeg import NvjpegDecoder, find_nvjpeg_library, nvjpeg_available

__all__ = ["RaggedImages", "collate_images", "TopdownAffine", "dataset_meta", "list_datasets",
           "AnnotationError", "CocoKeypoints", "invalid_region_mask", "load_coco_keypoints", "load_detection_boxes",
           "generate_synthetic_coco", "DevicePrefetcher", "TopdownBatch", "TopdownBatchPipeline", "TopdownCollate",
           "TopdownDecodeDataset", "build_topdown_loader", "load_mpii", "load_mpii_headboxes", "load_h36m",
           "h36m_sequence_indices", "parse_h36m_imgname", "mpii_json_to_coco", "mpii_mat_to_coco",
           "mpii_mat_to_mmpose_json", "BottomupBatch", "BottomupBatchPipeline", "BottomupCollate",
           "BottomupDecodeDataset", "BottomupRandomAffine", "BottomupResize", "build_bottomup_loader",
           "load_interhand3d", "InterHandTrainData", "flip_hand_labels", "interhand_topdown_batch",
           "load_mesh_annotations", "load_mosh_annotations", "generate_synthetic_mesh", "MeshTrainData",
           "mesh_samples_from_records", "crop_mesh_input", "H36mSequences", "h36m_window_table",
           "generate_synthetic3d", "write_synthetic3d", "map_on_side_stream", "NvjpegDecoder",
           "find_nvjpeg_library", "nvjpeg_available"]
