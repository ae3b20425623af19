# NexusFlow on the SegNet baseline, onelabel protocol.
_base_ = ['./nexusflow_segnet_mtl_1xb8-200e_nyuv2-randomlabels.py']

train_dataloader = dict(dataset=dict(protocol='onelabel'))
