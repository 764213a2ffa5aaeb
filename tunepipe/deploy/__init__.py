"""The serve stage on a cluster: a registered version as a TensorRT-LLM (trtllm-serve) endpoint on the GPU pool.

    plan       serving sizing: TP, largest batch, TTFT and per-token latency (`tunepipe plan --serve`)
    trtllm     trtllm-serve's command line, --config YAML and the LoRA routes
    manifests  Deployment / KServe objects, Service, PodDisruptionBudget
    apply      create-or-patch through the Kubernetes API
    deploy     `tunepipe deploy NAME@ALIAS` and the pipeline's staging step
    rollout    roll production to a version (tunepipe promote)
    fetch      the pods' init container: weights and adapters from MLflow
    router     the sidecar that picks a LoRA adapter by the request's `model`
"""
