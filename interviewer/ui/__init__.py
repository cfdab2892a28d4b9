"""The Gradio UI: `handlers` turn service calls into what components show; `app` lays the page out."""
