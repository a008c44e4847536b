"""Object storage settings shared by the settings module and the tests."""

PART_SIZE = 8 * 1024 * 1024


def transfer_config():
    """How boto3 uploads a file to S3: past 8 MiB in 8 MiB parts, one in flight and one read
    ahead, so about 32 MiB of heap per upload whatever the file's size (boto3 holds a
    couple of copies of each part; its defaults send ten parts at once and read ten ahead,
    so a 64 MiB file sat whole in memory). Memory, not upload speed, is what a 2-core app
    server running several workers runs out of."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=1,
    )
    # s3transfer's own knob (not a TransferConfig argument): parts read ahead of the upload.
    config.max_in_memory_upload_chunks = 1
    return config
