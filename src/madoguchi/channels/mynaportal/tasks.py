from celery import shared_task


@shared_task(name="mynaportal.pull_all")
def pull_all_task() -> dict:
    from .pull import pull_all

    return {code: result.summary() for code, result in pull_all().items()}
