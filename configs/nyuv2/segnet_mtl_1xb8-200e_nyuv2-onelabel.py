# Partially supervised SegNet baseline on NYUv2, onelabel protocol: each
# training image keeps the labels of exactly one task (265 images per task).
_base_ = ['./segnet_mtl_1xb8-200e_nyuv2-randomlabels.py']

train_dataloader = dict(dataset=dict(protocol='onelabel'))
