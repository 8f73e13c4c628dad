"""Import real models: an ``nn.Module``, a torchvision or timm name, or an ONNX file.

Every source becomes one intermediate representation (:mod:`.ir`), traced by torch.fx
(:mod:`.fx_trace`), by torch.export when fx cannot trace the code (:mod:`.export_trace`), or
read from an ONNX graph (:mod:`.onnx_read`). torch and onnx are imported inside functions only.
"""
