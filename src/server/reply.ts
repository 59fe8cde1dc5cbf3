/**
 * What an API handler returns besides a JSON value: a file streamed from disk (a recording's
 * pcap) or text that is JSON already (a stored analysis, served byte for byte as stored).
 */
export class FileReply {
  constructor(readonly path: string, readonly contentType: string, readonly filename: string) {}
}

export class TextReply {
  constructor(readonly text: string, readonly contentType = 'application/json; charset=utf-8') {}
}
